"""Simplified Chinese: every tr() string translated, the .qm built and loaded, QGIS's locale followed.

- the strings tr() can receive (i18n/update_ts.py follows them through the code) all have a finished
  zh_CN translation with the same {0} / {1:.3f} placeholders, in Chinese;
- what tr() actually receives while the plugin loads, builds its panel and Processing algorithms and
  reports errors is all in that list (so the extractor misses nothing);
- build.py compiles the .ts (lrelease and its own writer give the same bytes) and the plugin's
  strings come out in Chinese with the translator installed;
- with QGIS's locale set to zh_CN (a temporary settings profile), loading the plugin installs it.
"""

import importlib.util
import json
import os
import re
import sys
import zipfile

import pytest
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingException, QgsProject, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QSettings, QTranslator
from qgis.PyQt.QtWidgets import QGroupBox

from helpers import ROOT

if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import build  # noqa: E402

TS = os.path.join(ROOT, "i18n", "mpm_studio_zh_CN.ts")
CJK = re.compile(r"[\u4e00-\u9fff]")
# brand names and formulas that read the same in Chinese
SAME_IN_CHINESE = {"MPM Studio", "&MPM Studio", "ROC-AUC {0}"}


def _load_update_ts():
    spec = importlib.util.spec_from_file_location("mpm_update_ts", os.path.join(ROOT, "i18n", "update_ts.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


update_ts = _load_update_ts()


@pytest.fixture(scope="module")
def extracted():
    return update_ts.extract()


@pytest.fixture(scope="module")
def zh():
    language, contexts = update_ts.read_ts(TS)
    assert language == "zh_CN"
    assert list(contexts) == [update_ts.CONTEXT]
    return contexts[update_ts.CONTEXT]


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    """A folder laid out like the installed plugin's: i18n/mpm_studio_zh_CN.qm, compiled by build.py."""
    base = tmp_path_factory.mktemp("i18n_plugin")
    qms = build.compile_translations(str(base / "i18n"))
    assert [os.path.basename(q) for q in qms] == ["mpm_studio_zh_CN.qm"]
    return str(base)


@pytest.fixture
def zh_translator(plugin_dir):
    """The compiled zh_CN translation installed on the application, removed afterwards."""
    translator = QTranslator()
    assert translator.load(os.path.join(plugin_dir, "i18n", "mpm_studio_zh_CN.qm"))
    QCoreApplication.installTranslator(translator)
    yield translator
    QCoreApplication.removeTranslator(translator)


class RecordingTranslator(QTranslator):
    """Translates nothing; records what QCoreApplication.translate was asked for in the plugin's context."""

    def __init__(self):
        super().__init__()
        self.seen = {}

    def translate(self, context, source, disambiguation=None, n=-1):
        if context == update_ts.CONTEXT:
            self.seen.setdefault(source, 0)
            self.seen[source] += 1
        return None  # a null string: the next translator (or the source text) is used


@pytest.fixture(autouse=True)
def no_translation_left_behind():
    """Other test files expect English: no test here may leave a translator installed or the profile moved."""
    settings_file = QgsSettings().fileName()
    yield
    from mpm_plugin.i18n import tr

    assert tr("Align") == "Align" and tr("Predict prospectivity") == "Predict prospectivity"
    assert QgsSettings().fileName() == settings_file


def _new_plugin(iface):
    import mpm_plugin

    p = mpm_plugin.classFactory(iface)
    p.initGui()
    return p


def _close(p):
    p.unload()
    QgsProject.instance().removeAllMapLayers()
    QgsApplication.processEvents()


# ---- (a) the .ts covers every tr() string, correctly ----


def test_context_is_the_one_tr_uses():
    from mpm_plugin import i18n

    assert update_ts.CONTEXT == i18n.CONTEXT


def test_every_tr_string_has_a_finished_translation(extracted, zh):
    strings, unresolved = extracted
    assert not unresolved, ("tr() arguments i18n/update_ts.py cannot trace to a literal (pass the string to tr() "
                            "directly):\n" + "\n".join(unresolved))
    assert len(strings) > 150  # the extractor found the panel, the algorithms and their help texts
    missing = [s for s in strings if s not in zh or not zh[s].finished]
    assert not missing, (f"{len(missing)} tr() string(s) without a finished zh_CN translation: run "
                         "`python i18n/update_ts.py`, translate the unfinished entries in i18n/mpm_studio_zh_CN.ts "
                         "and drop their type=\"unfinished\":\n" + "\n".join(map(repr, missing)))
    # the indirect ones are there too: algorithm names, groups and help, parameter help, source labels
    for text in ("Align evidence stack", "Data preparation", "Prospectivity", "Inference backend",
                 "an aligned stack folder", "the expected folder", "Geophysics grids", "weights of evidence",
                 "A new folder (it must not exist, or be empty).", "Geochemical residuals per element"):
        assert text in strings, text


def test_placeholders_match_and_translations_are_chinese(extracted, zh):
    strings, _unresolved = extracted
    for source in strings:
        translation = zh[source].translation
        assert update_ts.placeholders(source) == update_ts.placeholders(translation), (source, translation)
        if source in SAME_IN_CHINESE:
            continue
        assert CJK.search(translation), f"not translated into Chinese: {source!r} -> {translation!r}"
    assert zh["{0} failed: {1}"].translation == "{0}失败：{1}"
    assert update_ts.placeholders("{0}: ROC-AUC {1:.3f}") == ["{0}", "{1:.3f}"]
    assert update_ts.placeholders("{1:.3f} {0}") != update_ts.placeholders("{1} {0}")


def test_extractor_follows_indirect_strings_and_flags_the_rest(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text('''
from .i18n import tr
LABELS = (("k1", "Row one"), ("k2", "Row two"))

class Base:
    TITLE = "Class title"
    PAIR = ("id", "Pair label")
    def title(self):
        return tr(self.TITLE) + tr(self.PAIR[1])
    def add(self, thing, help_text=None, kind="Default kind"):
        return tr(help_text or "Fallback") + tr(kind)
    def add_named(self, name, label, help_text=None):
        return tr(label) + self.add(name, help_text)
    def show(self, names):
        return [tr(label) for _key, label in names.items()]

class Child(Base):
    TITLE = "Child title"
    def build(self, other):
        self.add_named("X", "Named label", "Named help")
        self.add(None, help_text="Keyword help")
        self.show({"a": "Dict label"})
        self.show({k: label for k, label in LABELS})
        for _key, label in LABELS:
            tr(label)
        tr("Direct " "joined")
        tr(f"Bad {other}")
        tr(other.name)
''')
    strings, unresolved = update_ts.extract(str(pkg))
    assert set(strings) == {"Class title", "Child title", "Pair label", "Fallback", "Default kind", "Named label",
                            "Named help", "Keyword help", "Dict label", "Row one", "Row two", "Direct joined"}
    assert len(unresolved) == 2 and "Bad {other}" in unresolved[0] + unresolved[1]


def test_update_ts_merges_and_keeps_translations(tmp_path, extracted):
    """A new string becomes an unfinished entry, old translations stay, a string gone from the code is vanished."""
    strings, _unresolved = extracted
    ts = tmp_path / "mpm_studio_zh_CN.ts"
    ts.write_text(open(TS, encoding="utf-8").read().replace("<source>Align</source>", "<source>Old text</source>"),
                  encoding="utf-8")
    done, todo = update_ts.update(str(ts), strings)
    assert (done, todo) == (len(strings) - 1, 1)
    _lang, contexts = update_ts.read_ts(str(ts))
    msgs = contexts[update_ts.CONTEXT]
    assert msgs["Align"].kind == "unfinished" and msgs["Align"].translation == ""
    assert msgs["Old text"].kind == "vanished" and msgs["Old text"].translation == "对齐"
    assert msgs["Predict"].finished and msgs["Predict"].translation == "预测"
    assert update_ts.main(["--check", str(ts)]) == 1
    assert update_ts.main(["--check", TS]) == 0


def test_what_tr_receives_at_run_time_is_extracted(qgis_iface, qgis_processing, extracted, zh, tmp_path):
    """Load the plugin, its panel and algorithms, show a validation summary and hit error paths: every string
    tr() is asked for must be one the extractor found (and so translated)."""
    from mpm_plugin.algorithms.pretrain import stack_folders

    strings, _unresolved = extracted
    recorder = RecordingTranslator()
    QCoreApplication.installTranslator(recorder)
    p = None
    try:
        p = _new_plugin(qgis_iface)
        reg = QgsApplication.processingRegistry()
        for alg in reg.providerById("mpm").algorithms():
            assert alg.displayName() and alg.group() and alg.shortHelpString()
            copy = alg.createInstance()
            copy.initAlgorithm({})
        head = tmp_path / "head"
        head.mkdir()
        scores = {"roc_auc": 0.8, "pr_auc": 0.2, "success_rate_auc": 0.75}
        (head / "head_card.json").write_text(json.dumps({"cv": {k: scores for k in
                                                                ("head", "random_forest", "weights_of_evidence")}}))
        assert p.dock.show_validation(str(head)).startswith("ROC-AUC head 0.80")
        assert p.dock.run_align() is None  # no output folder, no layers: two warnings
        context = QgsProcessingContext()
        predict = reg.createAlgorithmById("mpm:predict")
        with pytest.raises(QgsProcessingException):
            predict.input_folder({"HEAD": str(tmp_path)}, "HEAD", context, "head_card.json", "a head folder")
        with pytest.raises(QgsProcessingException):
            predict.input_folder({"HEAD": str(tmp_path)}, "HEAD", context, "head_card.json")
        with pytest.raises(QgsProcessingException):
            predict.output_folder({"OUTPUT": str(tmp_path)}, "OUTPUT", context)
        with pytest.raises(QgsProcessingException):
            stack_folders([str(tmp_path)])
    finally:
        QCoreApplication.removeTranslator(recorder)
        if p is not None:
            _close(p)
    seen = set(recorder.seen)
    assert len(seen) > 100
    assert {"Align", "Align evidence stack", "Inference backend", "weights of evidence", "a head folder",
            "the expected folder", "Pick at least one layer in a source section."} <= seen
    assert not seen - set(strings), f"tr() strings the extractor missed: {sorted(seen - set(strings))}"
    assert all(zh[s].finished for s in seen)


# ---- (b) the compiled .qm gives Chinese ----


def test_build_compiles_ts_to_qm_identically_with_and_without_lrelease(tmp_path, plugin_dir):
    own = build.compile_translations(str(tmp_path / "own"), lrelease=None)
    assert [os.path.basename(q) for q in own] == ["mpm_studio_zh_CN.qm"]
    lrelease = build.find_lrelease()
    if lrelease is None:
        pytest.skip("lrelease not installed (apt-get install qttools5-dev-tools): built-in writer only")
    qt = build.compile_translations(str(tmp_path / "qt"), lrelease=lrelease)
    with open(own[0], "rb") as a, open(qt[0], "rb") as b:
        assert a.read() == b.read()


def test_build_ships_the_qm_and_not_the_sources(tmp_path, monkeypatch):
    """The zip's (and --dir's) i18n/ holds the compiled .qm only; nothing is compiled into the checkout."""
    monkeypatch.setattr(build, "PACKAGES", ())  # the engine and the models are not what this test is about
    zpath = build.build_zip(str(tmp_path / "dist"))
    with zipfile.ZipFile(zpath) as z:
        i18n = sorted(n for n in z.namelist() if n.startswith("mpm_plugin/i18n/"))
        assert i18n == ["mpm_plugin/i18n/mpm_studio_zh_CN.qm"]
        qm = z.read(i18n[0])
    target = build.build_dir(str(tmp_path / "plugins"))
    assert os.listdir(os.path.join(target, "i18n")) == ["mpm_studio_zh_CN.qm"]
    translator = QTranslator()
    assert translator.load(os.path.join(target, "i18n", "mpm_studio_zh_CN.qm"))
    assert translator.translate("MPMStudio", "Align") == "对齐"
    assert open(os.path.join(target, "i18n", "mpm_studio_zh_CN.qm"), "rb").read() == qm
    assert not [f for f in os.listdir(os.path.join(ROOT, "i18n")) if f.endswith(".qm")]


def test_plugin_speaks_chinese_with_the_translator(qgis_iface, qgis_processing, zh_translator):
    from mpm_plugin.algorithms.align import AlignStackAlgorithm
    from mpm_plugin.i18n import tr

    assert tr("Align") == "对齐"
    assert tr("{0} failed: {1}").format(tr("Align"), "x") == "对齐失败：x"
    alg = AlignStackAlgorithm()
    assert (alg.displayName(), alg.group()) == ("对齐证据数据栈", "数据准备")
    assert "数据栈" in alg.shortHelpString()
    p = _new_plugin(qgis_iface)
    try:
        assert p.dock.align_button.text() == "对齐"
        assert p.dock.finetune_button.text() == "微调 + 验证"
        assert p.dock.findChild(QGroupBox, "mpm_box_geochemistry").title() == "地球化学"
        assert p.action.toolTip() == "显示 MPM Studio 面板"
        reg = QgsApplication.processingRegistry()
        align = reg.algorithmById("mpm:alignstack")
        assert align.displayName() == "对齐证据数据栈"
        assert align.parameterDefinition("DEPOSITS").description() == "已知矿床（点）"
        finetune = reg.algorithmById("mpm:finetune")
        assert (finetune.displayName(), finetune.group()) == ("微调成矿远景预测头", "成矿远景")
        assert reg.algorithmById("mpm:predict").parameterDefinition("BACKEND").help().startswith("auto：")
        assert reg.algorithmById("mpm:anomalies").displayName() == "地球化学异常"
    finally:
        _close(p)


# ---- (c) the plugin follows QGIS's locale ----


@pytest.fixture
def qgis_profile(tmp_path):
    """QGIS settings in a temporary profile folder for the test; the session's profile is back afterwards."""
    fmt = QSettings.defaultFormat()
    before = QgsSettings().fileName()  # <profile>/QGIS/QGIS3.ini
    QSettings.setPath(fmt, QSettings.UserScope, str(tmp_path / "profile"))
    try:
        assert QgsSettings().fileName().startswith(str(tmp_path / "profile"))
        yield QgsSettings()
    finally:
        QSettings.setPath(fmt, QSettings.UserScope, os.path.dirname(os.path.dirname(before)))
        assert QgsSettings().fileName() == before


def _set_locale(settings, locale, override=True):
    settings.setValue("locale/overrideFlag", override)
    settings.setValue("locale/userLocale", locale)
    settings.sync()


@pytest.mark.parametrize("locale", ["zh_CN", "zh-Hans", "zh"])
def test_plugin_loads_zh_cn_for_a_chinese_qgis(qgis_iface, qgis_profile, plugin_dir, monkeypatch, locale):
    import mpm_plugin
    import mpm_plugin.plugin
    from mpm_plugin import i18n

    _set_locale(qgis_profile, locale)
    assert i18n.qgis_locale() == locale
    assert i18n.find_qm(plugin_dir) == os.path.join(plugin_dir, "i18n", "mpm_studio_zh_CN.qm")
    monkeypatch.setattr(mpm_plugin.plugin, "PLUGIN_ROOT", plugin_dir)  # the plugin folder the .qm was built into
    p = mpm_plugin.classFactory(qgis_iface)  # the translator is installed when QGIS creates the plugin
    try:
        assert i18n._translator is not None
        assert i18n.tr("Align") == "对齐" and i18n.tr("Predict prospectivity") == "预测成矿远景"
    finally:
        p.unload()
    assert i18n._translator is None and i18n.tr("Align") == "Align"  # unloading takes the translation away


@pytest.mark.parametrize("locale, override", [("zh-Hant", True), ("en_US", True), ("zh_CN", False)])
def test_plugin_stays_english_otherwise(qgis_iface, qgis_profile, plugin_dir, monkeypatch, locale, override):
    import mpm_plugin
    import mpm_plugin.plugin
    from mpm_plugin import i18n

    _set_locale(qgis_profile, locale, override)
    system = QLocale.system().name()
    assert i18n.qgis_locale() == (locale if override else system)
    expected = None
    if not override and i18n.locale_candidates(system)[:1] == ["zh_CN"]:  # a machine set to Chinese
        expected = os.path.join(plugin_dir, "i18n", "mpm_studio_zh_CN.qm")
    monkeypatch.setattr(mpm_plugin.plugin, "PLUGIN_ROOT", plugin_dir)
    p = mpm_plugin.classFactory(qgis_iface)
    try:
        assert i18n.find_qm(plugin_dir) == expected
        assert (i18n._translator is not None) == (expected is not None)
    finally:
        p.unload()
    assert i18n.tr("Align") == "Align"


def test_locale_candidates():
    from mpm_plugin.i18n import locale_candidates

    assert locale_candidates("zh_CN")[:2] == ["zh_CN", "zh"]
    assert locale_candidates("zh-Hans")[0] == "zh_CN" and locale_candidates("zh")[0] == "zh_CN"
    assert "zh_CN" not in locale_candidates("zh-Hant") + locale_candidates("zh_TW")
    assert locale_candidates("C") == [] and locale_candidates("") == []
