"""Ingest: collections (folders, zips, CSV lists, uploads, the demo, an index) and the one
pipeline that turns their files into stored vectors, for the app and for the indexer."""
