"""One parameter of an engine operation, declared once for every front end (CLI, Processing, panel).

Why in core: the run settings every layer takes (core.runtime) are declared with it, and the
operations (engine/operations.py) are built from it. Cheap to import: no numpy, torch or rasterio.
"""

from dataclasses import dataclass

from .errors import InputError

# parameter kinds (how each front end shows and reads them)
FOLDER = "folder"  # an input folder (stack, head, prediction, model); `marker`: a file it must hold
FILE = "file"  # an input file
RASTER = "raster"  # a raster layer (CLI: a path; Processing: any raster layer, read from its file)
VECTOR = "vector"  # a vector layer; `geometry`: point / polygon / line / any
LAYERS = "layers"  # several layers (`geometry`: raster / point / map ...)
FILES = "files"  # several files or folders
NUMBER = "number"
INT = "int"
BOOL = "bool"
CHOICE = "choice"  # one of `choices`, the engine's own words
TEXT = "text"
CRS = "crs"
EXTENT = "extent"  # xmin ymin xmax ymax
BANDS = "bands"  # band numbers of the raster named by `parent`
FIELD = "field"  # a field of the vector named by `parent`
OUT_FOLDER = "out_folder"  # a new folder the engine creates whole
OUT_FILE = "out_file"  # a new file; `ext`: its extension (.tif, .gpkg, .csv)
CUSTOM = "custom"  # shown and read by code of each front end (align's layers per source, WofE's evidence pairs)


@dataclass(frozen=True)
class Param:
    """One parameter of an operation. `default` None with optional=True: not given (the engine's default)."""

    name: str
    kind: str
    default: object = None
    help: str = ""
    label: str = ""  # the Processing label (short); the CLI shows `help`
    choices: tuple = ()
    min: float = None
    max: float = None
    optional: bool = False
    advanced: bool = False
    flag: str = None  # CLI flag (default --name-with-dashes); a bool defaulting to True is --no-NAME
    key: str = None  # Processing name (default NAME)
    positional: bool = False  # a CLI positional argument
    cli: bool = True
    qgis: bool = True
    engine: bool = True  # passed to the engine function
    zero_is_none: bool = False  # Processing: 0 means "not given" (a number field cannot be empty)
    marker: str = None  # FOLDER: a file the folder must hold
    exists: bool = True  # FOLDER / FILE: must exist already (False: the engine makes it, e.g. the cache)
    what: str = None  # FOLDER: what the folder is, for the message when `marker` is missing
    geometry: str = None  # VECTOR / LAYERS: point, polygon, line, any, raster, map, file
    parent: str = None  # BANDS / FIELD: the name of the layer parameter
    ext: str = None  # OUT_FILE: the file's extension
    metavar: object = None
    check: object = None  # callable(value) raising InputError, run by both front ends

    @property
    def cli_flag(self):
        if self.flag:
            return self.flag
        if self.kind == BOOL and self.default is True:
            return "--no-" + self.name.replace("_", "-")
        return "--" + self.name.replace("_", "-")

    @property
    def qgis_key(self):
        return self.key or self.name.upper()

    def read(self, value):
        """A Processing number as the engine takes it: 0 is None where `zero_is_none` (a number field
        cannot be left empty); the CLI gives None itself when a flag is left out."""
        if self.zero_is_none and value == 0:
            return None
        return value

    def validate(self, value):
        """The value, checked against choices, range and `check`; None passes when the parameter is optional."""
        if value is None:
            return value
        if self.choices and value not in self.choices:
            raise InputError(f"{self.name} '{value}' is not one of {', '.join(map(str, self.choices))}",
                             fix=f"give one of {', '.join(map(str, self.choices))}")
        if self.kind in (NUMBER, INT):
            if self.min is not None and value < self.min:
                raise InputError(f"{self.name} {value} is below {self.min:g}", fix=f"give {self.min:g} or more")
            if self.max is not None and value > self.max:
                raise InputError(f"{self.name} {value} is above {self.max:g}", fix=f"give {self.max:g} or less")
        if self.check is not None:
            self.check(value)
        return value
