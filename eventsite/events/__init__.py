"""Public pages: the home page, the listing, one event, topics and organisations."""
