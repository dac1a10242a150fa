"""The one target grid every layer is aligned to: CRS, resolution, extent."""

import math
from dataclasses import dataclass

from rasterio.crs import CRS
from rasterio.transform import from_origin
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds

from .errors import InputError


@dataclass(frozen=True)
class Grid:
    crs: str
    res: float
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @classmethod
    def snapped(cls, crs, res, bounds, origin=(0.0, 0.0)):
        """Grid covering `bounds`, with edges on origin + multiples of `res` so repeated runs line up.
        origin: a point the pixel edges pass through (the inputs' own grid when they share one, so
        aligning them moves nothing; engine.data.stack.shared_origin)."""
        if not (math.isfinite(res) and res > 0):
            raise InputError(f"target resolution must be a positive number, got {res}",
                             fix="give a pixel size in CRS units, e.g. --res 100 for 100 m")
        xmin, ymin, xmax, ymax = bounds
        if not all(math.isfinite(v) for v in bounds):
            raise InputError(f"target extent {bounds} is not finite", fix="give the extent as four finite numbers")
        if not (xmax > xmin and ymax > ymin):
            raise InputError(f"target extent {bounds} is empty", fix="check the area of interest and the layers' extents")
        ox, oy = (float(v) for v in origin)
        down = lambda v, o: o + math.floor((v - o) / res + 1e-9) * res  # noqa: E731  (tolerate float noise)
        up = lambda v, o: o + math.ceil((v - o) / res - 1e-9) * res  # noqa: E731
        return cls(_crs_string(crs), float(res), down(xmin, ox), down(ymin, oy), up(xmax, ox), up(ymax, oy))

    @property
    def width(self):
        return int(round((self.xmax - self.xmin) / self.res))

    @property
    def height(self):
        return int(round((self.ymax - self.ymin) / self.res))

    @property
    def shape(self):
        return self.height, self.width

    @property
    def transform(self):
        return from_origin(self.xmin, self.ymax, self.res, self.res)

    @property
    def bounds(self):
        return self.xmin, self.ymin, self.xmax, self.ymax

    @property
    def rio_crs(self):
        return CRS.from_user_input(self.crs)

    def window_transform(self, window):
        from rasterio.windows import transform as wt

        return wt(window, self.transform)

    def window_bounds(self, window):
        return window_bounds(window, self.transform)

    def full_window(self):
        return Window(0, 0, self.width, self.height)

    def to_dict(self):
        return {"crs": self.crs, "res": self.res, "bounds": list(self.bounds), "width": self.width, "height": self.height}

    @classmethod
    def from_dict(cls, d):
        return cls(d["crs"], float(d["res"]), *map(float, d["bounds"]))


def _crs_string(crs):
    try:
        c = CRS.from_user_input(crs)
    except Exception as exc:  # rasterio raises CRSError with GDAL text
        raise InputError(f"unknown CRS '{crs}' ({exc})", fix="give an EPSG code such as EPSG:3067 or a WKT string") from exc
    epsg = c.to_epsg()
    return f"EPSG:{epsg}" if epsg else c.to_wkt()
