"""Argument models shared by every connector of a tool family (sandbox and real), one module per
family, so a tool has the same name and arguments whichever connector serves it."""
