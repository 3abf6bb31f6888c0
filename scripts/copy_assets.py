"""Copy the front-end assets installed by `npm ci` into static/vendor/.

Run by `make assets`. The platform serves these files itself: it runs on a closed government
network and loads nothing from a CDN.
"""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "static" / "vendor"

FILES = {
    "bootstrap/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "bootstrap/dist/css/bootstrap.min.css.map": "bootstrap/bootstrap.min.css.map",
    "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
    # collectstatic's manifest storage follows the sourceMappingURL comments: the maps must be there.
    "bootstrap/dist/js/bootstrap.bundle.min.js.map": "bootstrap/bootstrap.bundle.min.js.map",
    "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
    "echarts/dist/echarts.min.js": "echarts/echarts.min.js",
}


def main() -> None:
    for source, target in FILES.items():
        dest = VENDOR / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MODULES / source, dest)
    print(f"copied {len(FILES)} asset files into {VENDOR.relative_to(ROOT)}")  # noqa: T201


if __name__ == "__main__":
    main()
