"""The teaching tools behind ``mg.draw`` and ``mg.explain_grad`` (see docs/tutorial.md)."""
