"""The production shape (`make run-prod`) under faults, in a pass of its own."""
