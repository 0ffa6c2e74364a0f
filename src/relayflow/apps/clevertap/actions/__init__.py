"""CleverTap actions, one module each; everything shared lives in the app's client."""
