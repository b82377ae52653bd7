"""Storage: where every file lives, the keys vectors are stored under, and the LanceDB tables."""
