"""The SAM map tool's background encode: load the model (first view) and encode one map view in a
QgsTask, so the canvas stays usable while an official ViT-H checkpoint takes its seconds.

The worker thread only reads the raster and runs the encoder (engine.structures.extract.encode_view); the
view becomes current on the main thread (use_view), where the clicks decode. The tool runs one task
at a time: a newer view waits for the running one, whose result is then dropped as stale.
"""

import threading

from qgis.core import QgsApplication, QgsTask

from .i18n import tr

_LIVE = set()  # tasks in flight: a Python QgsTask must outlive its run, whoever dropped it


class ViewEncodeTask(QgsTask):
    """Encodes `extent` (x0, y0, x1, y1 in the raster's CRS) with `extractor`, or with the one
    `make_extractor()` builds in the worker. `done(task)` is called on the main thread at the end;
    then `ok`, `view`, `embedding`, `line_maps`, `error`, `stale` (superseded or dropped by the tool) say how.
    lines: also compute the view's line responses (engine.structures.trace), so no line click waits for them."""

    def __init__(self, extent, extractor, make_extractor, done, lines=False):
        super().__init__(tr("Encoding the map view for SAM"), QgsTask.CanCancel)
        self.extent = extent
        self.extractor = extractor
        self.make_extractor = make_extractor
        self.done = done
        self.lines = lines
        self.view = self.embedding = self.line_maps = self.error = None
        self.ok = False
        self.stale = False
        self.thread_id = None  # the thread that ran the encoder (tests check it is not the main one)

    def start(self):
        _LIVE.add(self)
        QgsApplication.taskManager().addTask(self)
        return self

    def supersede(self):
        """The tool wants another view (or none): cancel, and drop the result if it still comes."""
        self.stale = True
        self.cancel()

    def run(self):
        self.thread_id = threading.get_ident()
        try:
            if self.extractor is None:
                self.extractor = self.make_extractor()
            self.setProgress(20)
            if self.isCanceled():
                return False
            self.view, self.embedding, self.line_maps = self.extractor.encode_view(self.extent, lines=self.lines)
            return True  # encoded even if cancelled meanwhile: `stale` says whether the tool still wants it
        except Exception as exc:  # noqa: BLE001 (the engine's actionable text goes to the message bar)
            self.error = str(exc) or type(exc).__name__
            return False

    def finished(self, result):  # noqa: D401 (QgsTask's slot, on the main thread)
        _LIVE.discard(self)
        self.ok = bool(result) and self.error is None
        try:
            self.done(self)
        finally:
            self.done = None
