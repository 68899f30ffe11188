import os
import sys

# A figure's arrays are tiny: numpy's OpenBLAS need not start a thread per core at
# import, which costs a small figure command a fifth of its time (a user's own
# setting wins).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .pipeline import start_early  # noqa: E402

start_early(sys.argv[1:])  # TeX loads its format while Python imports the rest

from .cli import main  # noqa: E402

sys.exit(main())
