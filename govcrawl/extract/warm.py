"""Build the readers' one-time tables on import: the extraction pool's fork server imports this.

Each of these is built on first use (a regex of the ~9000 common hanzi, the set of
characters OpenCC may change, OpenCC's dictionaries): about 80 ms that every worker,
and every replacement of one, would otherwise spend on its first document.  Built once
in the fork server, they are in every worker forked from it.
"""

from __future__ import annotations

import logging

from govcrawl.extract import decode, textfix

try:
    decode._common_hanzi_run()
    textfix._may_change()
    textfix._converter()
except Exception:  # noqa: BLE001 - a cold start is slower, never broken: the workers build them on use
    logging.getLogger(__name__).debug("Could not build the readers' tables ahead", exc_info=True)
