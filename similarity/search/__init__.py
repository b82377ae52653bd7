"""Search: exact top-k (written once), the approximate index, queries, relevance and the PCA noise filter."""
