"""The app's screens: picker, dashboard, compare, help."""
