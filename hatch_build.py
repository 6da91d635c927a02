"""Build hook: compile exprhub's C extension (``exprhub.records._strings``) into the wheel.

The extension builds and reads table columns (numpy string arrays) without a Python object per
cell: GEO data tables split straight into columns, columns handed to Arrow. It is optional:
without a C compiler (or Python's headers) the build warns and the package works in pure
Python and numpy, only slower. Set ``EXPRHUB_REQUIRE_EXTENSION=1`` to make that an error
(CI does). An editable install builds the module next to its source, where the ``src``
checkout imports it from.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCES = [Path("src", "exprhub", "records", name) for name in ("_strings.c", "_strings_columns.c")]


def _compile_command(sources: list[Path], target: Path) -> list[str]:
    """The compiler call that builds ``sources`` into the extension module ``target``."""
    import numpy

    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    flags = ["-O2", "-fPIC", "-shared", "-Wall"]
    if sys.platform == "darwin":
        flags += ["-undefined", "dynamic_lookup"]
    includes = [f"-I{sysconfig.get_paths()['include']}", f"-I{numpy.get_include()}"]
    return [*compiler, *flags, *includes, *map(str, sources), "-o", str(target)]


class ExtensionBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles the C extension for wheel and editable builds."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        target = (root / SOURCES[0]).with_name("_strings" + suffix)
        try:
            subprocess.run(
                _compile_command([root / source for source in SOURCES], target),
                check=True,
                capture_output=True,
                text=True,
            )
        except (OSError, ImportError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", None) or str(error)
            message = (
                f"exprhub: could not compile {SOURCES[0].parent} ({detail.strip()}); "
                "tables will be parsed without it (slower)"
            )
            if os.environ.get("EXPRHUB_REQUIRE_EXTENSION"):
                raise RuntimeError(message) from error
            self.app.display_warning(message)
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(target)] = str(Path("exprhub", "records", target.name))
