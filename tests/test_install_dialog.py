"""The install dialog inside QGIS (pytest-qgis): offered from the message bar and the plugin menu when packages are
missing, installs (here: hand-made wheels, offline) into the profile's folder and loads them in the same session."""

import os
import sys

from qgis.PyQt.QtCore import QEventLoop, QTimer
from qgis.PyQt.QtWidgets import QPushButton

from mpm_plugin import deps, install_dialog, installer
from test_installer import make_wheel


def test_missing_packages_offer_the_installer(qgis_iface, qgis_processing, monkeypatch):
    import mpm_plugin

    monkeypatch.setattr(deps, "report", lambda: "MPM Studio cannot align data: missing Python package(s) rasterio")
    bar = qgis_iface.messageBar()
    bar.clearWidgets()
    p = mpm_plugin.classFactory(qgis_iface)
    p.initGui()
    try:
        assert p.install_action.text() == "Install Python packages..."
        buttons = [b for b in bar.currentItem().findChildren(QPushButton) if b.text() == "Install..."]
        assert len(buttons) == 1
        buttons[0].click()
        dlg = p.installer_window
        assert dlg is not None and dlg.isVisible()
        assert "rasterio" in dlg.intro.text() and dlg.folder in dlg.intro.text()
        assert dlg.folder == installer.target_dir(os.path.normpath(install_dialog.QgsApplication.qgisSettingsDirPath()))
        p.install_action.trigger()
        assert p.installer_window is dlg  # one dialog
    finally:
        bar.clearWidgets()
        p.unload()


def test_dialog_installs_offline_and_loads_without_restart(qgis_iface, tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(str(wheels), "mpm_toy_dialog", "1.0", body="import mpm_toy_dep\n", requires=["mpm_toy_dep"])
    make_wheel(str(wheels), "mpm_toy_dep", "1.0")
    (tmp_path / "req.txt").write_text("mpm_toy_dialog==1.0\ntorch==2.13.0\n")
    monkeypatch.setattr(installer, "requirements_file", lambda: str(tmp_path / "req.txt"))
    profile = tmp_path / "profile"
    monkeypatch.setattr(install_dialog, "profile_dir", lambda: str(profile))
    monkeypatch.setattr(sys, "path", list(sys.path))
    dlg = install_dialog.InstallDialog()
    dlg.optional["torch"].setChecked(False)  # the optional group left out: torch is not looked for offline
    dlg.offline.setChecked(True)
    dlg.install_button.click()
    assert "folder of wheels first" in dlg.status.text() and dlg.job is None
    dlg.wheels.setText(str(wheels))
    results, percents = [], []
    loop = QEventLoop()
    dlg.bridge.progress.connect(lambda p, m: percents.append(p))
    dlg.finished_install.connect(lambda ok: (results.append(ok), loop.exit()))
    QTimer.singleShot(120000, loop.exit)
    dlg.install_button.click()
    assert not dlg.install_button.isEnabled() and dlg.cancel_button.isEnabled()
    loop.exec_()
    folder = installer.target_dir(str(profile))
    assert results == [True], dlg.log.toPlainText()
    assert dlg.install_button.isEnabled() and not dlg.cancel_button.isEnabled()
    assert percents[-1] == 100 and "can use them now" in dlg.status.text()
    assert "--no-index" in dlg.log.toPlainText() and sys.path[0] == folder
    import mpm_toy_dialog

    assert mpm_toy_dialog.__file__ == os.path.join(folder, "mpm_toy_dialog.py")
    del sys.modules["mpm_toy_dialog"], sys.modules["mpm_toy_dep"]
    dlg.close()
