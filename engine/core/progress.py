"""One progress/cancel protocol for the CLI bar, the Python API and QGIS feedback objects.

QGIS's QgsProcessingFeedback and QgsFeedback use setProgress/isCanceled/pushInfo; the engine
speaks the same names so the plugin can hand its feedback object straight in.
"""

from .errors import Cancelled


class Feedback:
    """Silent default: no output, never cancelled."""

    def setProgress(self, percent):  # noqa: N802 (QGIS naming on purpose)
        pass

    def isCanceled(self):  # noqa: N802
        return False

    def pushInfo(self, text):  # noqa: N802
        pass


class TqdmFeedback(Feedback):
    """CLI progress bar; Ctrl-C is turned into a clean cancel by the CLI."""

    def __init__(self, desc="working"):
        from tqdm import tqdm

        self._bar = tqdm(total=100, desc=desc, unit="%", bar_format="{l_bar}{bar}| {n:.0f}/100 [{elapsed}<{remaining}]")
        self._last = 0.0

    def setProgress(self, percent):  # noqa: N802
        percent = max(0.0, min(100.0, float(percent)))
        self._bar.update(percent - self._last)
        self._last = percent

    def pushInfo(self, text):  # noqa: N802
        self._bar.write(str(text))

    def close(self):
        self._bar.close()


class Steps:
    """Maps the progress of sub-steps onto one 0-100 range and checks for cancel."""

    def __init__(self, feedback=None, start=0.0, end=100.0):
        self.feedback = feedback or Feedback()
        self.start = start
        self.end = end

    def check(self):
        if self.feedback.isCanceled():
            raise Cancelled()

    def report(self, fraction, text=None):
        self.check()
        self.feedback.setProgress(self.start + (self.end - self.start) * min(max(fraction, 0.0), 1.0))
        if text:
            self.feedback.pushInfo(text)

    def info(self, text):
        self.feedback.pushInfo(text)

    def sub(self, f0, f1):
        """A child range covering [f0, f1] of this one."""
        span = self.end - self.start
        return Steps(self.feedback, self.start + span * f0, self.start + span * f1)

    def child_feedback(self, f0, f1):
        """A feedback object for a callee that reports 0-100 %: mapped onto [f0, f1] of this range."""
        return _RangeFeedback(self.sub(f0, f1))


class _RangeFeedback(Feedback):
    def __init__(self, steps):
        self._steps = steps

    def setProgress(self, percent):  # noqa: N802
        s = self._steps
        s.feedback.setProgress(s.start + (s.end - s.start) * min(max(percent, 0.0), 100.0) / 100.0)

    def isCanceled(self):  # noqa: N802
        return self._steps.feedback.isCanceled()

    def pushInfo(self, text):  # noqa: N802
        self._steps.feedback.pushInfo(text)
