import os
import sys

# A figure's arrays are tiny: numpy's OpenBLAS need not start a thread per core at
# import, which costs a small figure command a fifth of its time (a user's own
# setting wins).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:  # Ctrl-C while importing, before main() handles it: exit 130, no traceback
    from . import kinds  # noqa: E402  (the registry's names: no scene module, no numpy)

    if kinds.figure_command(sys.argv[1:]):  # TeX loads its format while Python imports the rest
        from .cache import cache_root
        from .interrupt import exiting_until_main

        exiting_until_main()  # a SIGTERM before main() installs its handlers cleans up too
        from .engine.texpool import POOL

        POOL.start_early(cache_root() / "formats")

    from .cli import main  # noqa: E402
except KeyboardInterrupt:
    sys.exit(130)

sys.exit(main())
