"""`python -m relayflow.cli`."""

from relayflow.cli import main

main()
