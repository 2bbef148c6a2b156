"""The Textual dashboard. Never imports torch: live runs train in a worker process."""
