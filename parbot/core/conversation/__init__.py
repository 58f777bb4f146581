"""The channel-neutral conversation: typed events in (events.py), typed screens out (screen.py), and what a
chat waits for between turns (state.py). Transports (Telegram, Zalo, web) only translate to and from these."""
