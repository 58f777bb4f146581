"""The Zalo Bot Platform channel: a thin client of the documented methods (client.py), Screens as numbered
texts (render.py), and the poller / webhook hook feeding the conversation engine (runner.py)."""
