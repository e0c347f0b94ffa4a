"""Where mentions come from: live platform clients (Bluesky, Mastodon, Reddit, X), run
as ``crisiswatch connect`` processes that append to the store's input streams, and the
importers that map exported files onto the mention contract."""
