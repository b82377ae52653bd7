"""The bounds every page and core function share, in one place.

Caps keep each view readable and its work bounded on a 2-core server; the
core clamps to them and to the collection's size, and the pages' sliders
read them, so the two never disagree.
"""

MAX_RESULTS = 48  # results shown on the Search page
DEFAULT_RESULTS = 12
MAX_LINKED = 20  # results joined to the query on a map and in the angle view
DEFAULT_LINKED = 8
MAX_CLUSTERS = 40  # k for k-means / agglomerative
SCAN_K_MAX = 15  # the automatic k scan tries 2..max(this, known categories + 3)
MAX_COMPONENTS = 128  # PCA noise filter and "PCA first" for clustering
TERM_RESULTS = 3  # results shown per term of query arithmetic
CLUSTER_GRID = 12  # pictures shown per cluster
SELECTION_GRID = 60  # pictures shown for a box/lasso selection on a map
ENCODE_IN_PAGE = 1_000  # pictures an indexed collection may still need encoded in a page before the visitor confirms
SCORE_SAMPLE = 100_000  # big spaces: the score histogram and the verdict's spread use this many items
MAX_ZIP_BYTES = 2_000_000_000  # one zip, unpacked (the README quotes this 2 GB)
MAX_ZIP_FILES = 50_000  # entries in one zip
MAX_ZIP_RATIO = 100  # pictures barely compress; 1 MB unpacking to 1 GB is a zip bomb
MAX_SESSION_BYTES = MAX_ZIP_BYTES  # uploads + unpacked zips one browser session may write: one full zip
MAX_SESSION_FILES = MAX_ZIP_FILES
MAX_SERVER_UPLOAD_BYTES = 20_000_000_000  # every visitor's uploads + unpacked zips on the server's disk, together
MAX_SERVER_UPLOAD_FILES = 200_000  # files among them: each costs a disk block (50,000 tiny files take 200 MB)
UNPACKED_MAX_AGE_S = 2 * 86_400  # unpacked zips older than this are removed on the next import
MAX_QUERY_CHARS = 1_000  # a typed query (the text tower reads ~32 tokens; longer is a paste, not a query)
MAX_JSON_DEPTH = 32  # a captions JSON is one flat object; deeper nesting is refused before parsing
MAX_JSON_DIGITS = 100  # digits of a number in a captions JSON (Python refuses ints over 4,300 digits, slowly)
MAX_QUERY_TERMS = 8  # terms of +/- query arithmetic (each is encoded and shown with its own results)
EXPORT_MAX_BYTES = 500_000_000  # pictures in one exported zip (built in the server's memory)
MAX_FILTER_CHOICES = 200  # a field with more distinct values is filtered by "contains" text, not a list
HEADER_READS = 20_000  # pictures whose headers are read for width/height filters (more: those fields are left out)
STORE_READ_ATTEMPTS = 4  # a store table read that fails is tried this often before it counts as damaged
STORE_READ_BACKOFF_S = 0.05  # wait before the 2nd try; doubled before each next one (0.35 s in all)
LAB_MAX_STEPS = 5_000  # steps of one "Watch it learn" run (~1 min on 2 cores at batch 128)
LAB_MAX_BATCH = 512  # picture-caption pairs per step
LAB_MAX_SECONDS = 120  # a run still training after this stops: the server's cores are the class's
LAB_KEPT_RUNS = 6  # finished runs a server keeps for replay (~30 MB each for the demo)
LAB_WAITING = 4  # runs that may wait for the one training; more are refused until one ends
LAB_REFRESH_S = 0.7  # a live or replayed run's figures are redrawn this often (each watching session reruns them)
LAB_PACE_S = 0.5  # the least time between two snapshots of a run the class watches (20 snapshots: >= 10 s)
