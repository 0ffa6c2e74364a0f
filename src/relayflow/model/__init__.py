"""Workflow definitions (DESIGN §2): triggers, settings, the workflow, and the file loader.

Steps are defined by their kinds (`relayflow.steps`); `model.workflow.Workflow` holds them.
"""
