"""Site settings, the service catalog and stack loading."""
