"""The coding round: candidate code run in a bubblewrap jail (`sandbox.py`), tested against a
problem's test cases (`problems.py`, the bank in `problems.json`)."""
