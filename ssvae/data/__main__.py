"""``python -m ssvae.data describe ...`` (see ``ssvae.data.describe``)."""
from ssvae.data.describe import main

if __name__ == "__main__":
    raise SystemExit(main())
