<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>MPMStudio</name>
    <message>
        <location filename="../mpm_plugin/dock.py" line="39"/>
        <location filename="../mpm_plugin/dock.py" line="135"/>
        <location filename="../mpm_plugin/plugin.py" line="42"/>
        <location filename="../mpm_plugin/provider.py" line="35"/>
        <source>MPM Studio</source>
        <translation>MPM Studio</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock.py" line="58"/>
        <source>Open results...</source>
        <translation>打开结果...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock.py" line="60"/>
        <source>Open an existing stack, head or prediction folder (or an output folder holding them): its layers load and the next steps can run on it.</source>
        <translation>打开已有的数据栈、预测头或预测文件夹（或包含它们的输出文件夹）：加载其图层，后续步骤即可在其上运行。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock.py" line="63"/>
        <source>Settings...</source>
        <translation>设置...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock.py" line="65"/>
        <source>Inference backend, CPU threads, tile size and cache folder of the runs</source>
        <translation>运行所用的推理后端、CPU 线程数、分块大小和缓存文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock.py" line="74"/>
        <location filename="../mpm_plugin/dock_chain.py" line="135"/>
        <source>Align</source>
        <translation>对齐</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock.py" line="77"/>
        <location filename="../mpm_plugin/dock_preview.py" line="223"/>
        <source>Preview</source>
        <translation>预览</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock.py" line="79"/>
        <source>What Align would make of each picked layer (kind, layer type, class field, classes, nodata, pixel size, coverage of the area), with warnings; the layer types and class fields can be changed there. Writes nothing.</source>
        <translation>显示对齐将如何处理每个所选图层（类型、图层类别、分类字段、类别数、无数据值、像元大小、研究区覆盖率）并给出警告；可在此修改图层类别和分类字段。不写入任何文件。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock.py" line="83"/>
        <location filename="../mpm_plugin/install_dialog.py" line="80"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock.py" line="95"/>
        <source>Pick layers per source, then Align.</source>
        <translation>按数据源勾选图层，然后点击“对齐”。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="28"/>
        <source>Prospectivity and anomalies (after Align)</source>
        <translation>成矿远景与异常（对齐之后）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="39"/>
        <source>Fine-tune + validate</source>
        <translation>微调 + 验证</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="40"/>
        <source>Train the prospectivity head on the aligned stack's known deposits and cross-validate it against random forest and weights of evidence (needs a stack aligned with deposits).</source>
        <translation>用对齐数据栈中的已知矿床训练成矿远景预测头，并与随机森林和证据权进行交叉验证对比（需要已含矿床对齐的数据栈）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="43"/>
        <location filename="../mpm_plugin/dock_chain.py" line="170"/>
        <source>Predict</source>
        <translation>预测</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="44"/>
        <source>Map prospectivity, uncertainty and per-source contributions (needs a fine-tuned head).</source>
        <translation>绘制成矿远景、不确定性及各数据源贡献图（需要已微调的预测头）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="47"/>
        <location filename="../mpm_plugin/dock_chain.py" line="177"/>
        <location filename="../mpm_plugin/dock_chain.py" line="355"/>
        <location filename="../engine/operations.py" line="288"/>
        <source>Targets</source>
        <translation>靶区圈定</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="48"/>
        <source>Ranked target polygons holding the chosen share of the known deposits (needs a prediction).</source>
        <translation>圈定包含指定比例已知矿床的排序靶区多边形（需要预测结果）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="51"/>
        <location filename="../mpm_plugin/dock_chain.py" line="185"/>
        <source>Anomalies</source>
        <translation>异常检测</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="52"/>
        <source>Geochemical anomalies from the geochemistry encoder (needs a stack with geochemistry).</source>
        <translation>利用地球化学编码器识别地球化学异常（需要含地球化学数据的数据栈）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="61"/>
        <source>Share of the known deposits the targets must hold; the probability cut follows.</source>
        <translation>靶区须包含的已知矿床比例；概率阈值据此确定。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="135"/>
        <source>Aligning...</source>
        <translation>正在对齐…</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="163"/>
        <source>Fine-tune</source>
        <translation>微调</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="164"/>
        <source>Fine-tuning the head and cross-validating it...</source>
        <translation>正在微调预测头并进行交叉验证…</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="171"/>
        <source>Mapping prospectivity...</source>
        <translation>正在进行成矿远景制图…</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="178"/>
        <source>Drawing targets...</source>
        <translation>正在圈定靶区…</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="185"/>
        <source>Finding geochemical anomalies...</source>
        <translation>正在识别地球化学异常…</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="63"/>
        <source>capture % of deposits</source>
        <translation>靶区捕获已知矿床的百分比</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="83"/>
        <source>Choose an output folder first.</source>
        <translation>请先选择输出文件夹。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="131"/>
        <location filename="../mpm_plugin/dock_preview.py" line="183"/>
        <source>Pick at least one layer in a source section.</source>
        <translation>请在至少一个数据源分组中勾选图层。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="161"/>
        <source>Align a stack with known deposits first.</source>
        <translation>请先对齐一个包含已知矿床的数据栈。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="168"/>
        <source>Fine-tune a head on the stack first.</source>
        <translation>请先在该数据栈上微调预测头。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="175"/>
        <source>Predict prospectivity first.</source>
        <translation>请先预测成矿远景。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="182"/>
        <source>Align a stack with geochemistry first.</source>
        <translation>请先对齐一个包含地球化学数据的数据栈。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="220"/>
        <location filename="../mpm_plugin/dock_open.py" line="30"/>
        <location filename="../mpm_plugin/dock_preview.py" line="186"/>
        <source>A run is in progress; wait for it to finish or cancel it.</source>
        <translation>有任务正在运行；请等待其完成或将其取消。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="208"/>
        <source>A run is in progress.</source>
        <translation>有任务正在运行。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="261"/>
        <location filename="../mpm_plugin/dock_preview.py" line="227"/>
        <source>no result</source>
        <translation>无结果</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="280"/>
        <source>Stack written to {0}</source>
        <translation>数据栈已写入 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="284"/>
        <source>Head written to {0}</source>
        <translation>预测头已写入 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="288"/>
        <source>Prediction written to {0}</source>
        <translation>预测结果已写入 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="292"/>
        <source>{0} targets holding {1} % of the known deposits written to {2}</source>
        <translation>已将包含 {1}% 已知矿床的 {0} 个靶区写入 {2}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="297"/>
        <source>Anomalies written to {0} (top_anomalies.csv lists the strongest)</source>
        <translation>异常结果已写入 {0}（top_anomalies.csv 列出最强异常）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="327"/>
        <location filename="../mpm_plugin/algorithms/align.py" line="33"/>
        <location filename="../mpm_plugin/algorithms/align.py" line="69"/>
        <source>Aligned stack</source>
        <translation>对齐数据栈</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="328"/>
        <location filename="../mpm_plugin/algorithms/align.py" line="34"/>
        <location filename="../mpm_plugin/algorithms/align.py" line="69"/>
        <source>Validity mask</source>
        <translation>有效区掩膜</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="369"/>
        <location filename="../mpm_plugin/algorithms/anomalies.py" line="10"/>
        <source>Geochemical anomaly score</source>
        <translation>地球化学异常得分</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="370"/>
        <location filename="../mpm_plugin/algorithms/anomalies.py" line="11"/>
        <source>Robust Mahalanobis distance</source>
        <translation>稳健马氏距离</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="226"/>
        <location filename="../mpm_plugin/dock_preview.py" line="190"/>
        <source>The Processing algorithm {0} is not available; enable the MPM Studio plugin's provider in Processing settings.</source>
        <translation>处理算法 {0} 不可用；请在“处理”设置中启用 MPM Studio 插件的算法提供者。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="344"/>
        <source>Contribution of {0}</source>
        <translation>{0} 的贡献</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="347"/>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="31"/>
        <location filename="../mpm_plugin/algorithms/predict.py" line="19"/>
        <location filename="../mpm_plugin/algorithms/targets.py" line="10"/>
        <location filename="../mpm_plugin/algorithms/validate.py" line="14"/>
        <location filename="../mpm_plugin/algorithms/predict.py" line="10"/>
        <source>Prospectivity</source>
        <translation>成矿远景</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="348"/>
        <location filename="../mpm_plugin/algorithms/predict.py" line="11"/>
        <source>Prospectivity uncertainty</source>
        <translation>成矿远景不确定性</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="350"/>
        <location filename="../mpm_plugin/algorithms/predict.py" line="13"/>
        <source>Layers with data</source>
        <translation>有数据的图层数</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="368"/>
        <source>Top anomalies</source>
        <translation>最强异常</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="258"/>
        <location filename="../mpm_plugin/dock_chain.py" line="259"/>
        <location filename="../mpm_plugin/dock_preview.py" line="223"/>
        <source>{0} cancelled; nothing was written.</source>
        <translation>{0}已取消，未写入任何内容。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="262"/>
        <source>{0} failed: {1}</source>
        <translation>{0}失败：{1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="263"/>
        <source>{0} failed: {1}. Nothing was written.</source>
        <translation>{0}失败：{1}。未写入任何内容。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="272"/>
        <source>{0} finished but its results could not be shown: {1}</source>
        <translation>{0}已完成，但无法显示其结果：{1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_chain.py" line="274"/>
        <source>{0} finished; results are in {1}</source>
        <translation>{0}已完成，结果位于 {1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="40"/>
        <source>Geology</source>
        <translation>地质</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="42"/>
        <location filename="../mpm_plugin/algorithms/anomalies.py" line="18"/>
        <source>Geochemistry</source>
        <translation>地球化学</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="43"/>
        <source>Geophysics</source>
        <translation>地球物理</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="44"/>
        <source>Remote sensing</source>
        <translation>遥感</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="112"/>
        <location filename="../mpm_plugin/wofe_panel.py" line="97"/>
        <source>Known deposits</source>
        <translation>已知矿床</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="122"/>
        <source>Area of interest</source>
        <translation>研究区</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="126"/>
        <location filename="../mpm_plugin/structures_panel.py" line="67"/>
        <source>auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="127"/>
        <source>Pixel size</source>
        <translation>像元大小</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="133"/>
        <source>Each step writes a new folder in here. Default: beside the saved project, else in your home folder.</source>
        <translation>每个步骤在此处写入一个新文件夹。默认：已保存项目的旁边，否则在您的主目录中。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_inputs.py" line="135"/>
        <source>Output folder</source>
        <translation>输出文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_layers.py" line="63"/>
        <source>rest of the area</source>
        <translation>其余区域</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_layers.py" line="63"/>
        <source>top {0:g} % of the area</source>
        <translation>面积前 {0:g}%</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_layers.py" line="197"/>
        <source>Style {0} not applied: {1}</source>
        <translation>未能应用样式 {0}：{1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_layers.py" line="180"/>
        <source>Could not load {0} as a layer</source>
        <translation>无法将 {0} 加载为图层</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="19"/>
        <source>Open an MPM Studio results folder</source>
        <translation>打开 MPM Studio 结果文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="44"/>
        <source>stack</source>
        <translation>数据栈</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="44"/>
        <location filename="../mpm_plugin/dock_plots.py" line="17"/>
        <source>head</source>
        <translation>预测头</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="44"/>
        <source>prediction</source>
        <translation>预测</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="44"/>
        <source>targets</source>
        <translation>靶区</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="45"/>
        <source>anomalies</source>
        <translation>异常</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="45"/>
        <source>model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="45"/>
        <source>validation</source>
        <translation>验证</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="46"/>
        <source>Opened {0} from {1}</source>
        <translation>已从 {1} 打开：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_open.py" line="35"/>
        <source>No MPM Studio results in {0}: choose a folder with stack.json (a stack), head_card.json (a head) or prospectivity.tif (a prediction), or the output folder holding them.</source>
        <translation>{0} 中没有 MPM Studio 结果：请选择包含 stack.json（数据栈）、head_card.json（预测头）或 prospectivity.tif（预测）的文件夹，或包含它们的输出文件夹。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="31"/>
        <source>Validation (spatial cross-validation)</source>
        <translation>验证（空间交叉验证）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="45"/>
        <source>Show plots</source>
        <translation>显示图表</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="47"/>
        <source>Success-rate, ROC, precision-recall, prediction-area and loss curves beside the map</source>
        <translation>在地图旁显示成功率、ROC、精确率-召回率、预测-面积及损失曲线</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="51"/>
        <source>Open plot</source>
        <translation>打开图表</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="52"/>
        <source>Open validation.png full size</source>
        <translation>以原始尺寸打开 validation.png</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="70"/>
        <source>No validation report for this head.</source>
        <translation>该预测头没有验证报告。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="24"/>
        <source> (folds {0:.2f}-{1:.2f})</source>
        <translation>（各折 {0:.2f}-{1:.2f}）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="123"/>
        <source>MPM Studio plots</source>
        <translation>MPM Studio 图表</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="174"/>
        <source>Head training loss</source>
        <translation>预测头训练损失</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="17"/>
        <location filename="../mpm_plugin/plots.py" line="44"/>
        <source>head + embeddings</source>
        <translation>预测头 + 嵌入</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="17"/>
        <location filename="../mpm_plugin/plots.py" line="45"/>
        <source>head, bands only</source>
        <translation>预测头（仅证据图层）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="18"/>
        <location filename="../mpm_plugin/plots.py" line="45"/>
        <source>random forest</source>
        <translation>随机森林</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="18"/>
        <location filename="../mpm_plugin/plots.py" line="46"/>
        <source>weights of evidence</source>
        <translation>证据权</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="70"/>
        <source>ROC-AUC {0}</source>
        <translation>ROC-AUC {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="152"/>
        <source>Pretraining loss of {0} (running mean)</source>
        <translation>{0} 的预训练损失（滑动平均）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="182"/>
        <source>Pretraining loss of the encoder {0} (running mean)</source>
        <translation>编码器 {0} 的预训练损失（滑动平均）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="78"/>
        <source>{0}: ROC-AUC {1:.3f}, PR-AUC {2:.4f} (chance {3:.5f}), top 10 % of the area captures {4:.0%}</source>
        <translation>{0}：ROC-AUC {1:.3f}，PR-AUC {2:.4f}（随机水平 {3:.5f}），面积前 10 % 捕获矿床 {4:.0%}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="105"/>
        <source>Interactive plots need the Python package pyqtgraph ({0}); showing validation.png instead.</source>
        <translation>交互式图表需要 Python 包 pyqtgraph（{0}）；改为显示 validation.png。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="157"/>
        <source>Loss curves need the Python package pyqtgraph; see {0}</source>
        <translation>损失曲线需要 Python 包 pyqtgraph；请查看 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="166"/>
        <source>Validation curves need the Python package pyqtgraph; see {0}</source>
        <translation>验证曲线需要 Python 包 pyqtgraph；请查看 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_plots.py" line="122"/>
        <location filename="../mpm_plugin/plots.py" line="442"/>
        <source>Plot saved to {0}</source>
        <translation>图表已保存到 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="45"/>
        <source>Align preview</source>
        <translation>对齐预览</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="108"/>
        <source>Use for Align</source>
        <translation>用于对齐</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="132"/>
        <source>MPM Studio: Align preview</source>
        <translation>MPM Studio：对齐预览</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="212"/>
        <source>Reading the layers for the preview...</source>
        <translation>正在读取图层以生成预览……</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="249"/>
        <source>The next Align uses the preview's layer types and class fields.</source>
        <translation>下一次对齐将使用预览中的图层类别和分类字段。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="22"/>
        <source>Source</source>
        <translation>数据源</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="22"/>
        <source>Layer</source>
        <translation>图层</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="22"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="22"/>
        <source>Layer type</source>
        <translation>图层类别</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="22"/>
        <source>Class field</source>
        <translation>分类字段</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="22"/>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="117"/>
        <source>Classes</source>
        <translation>类别数</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="22"/>
        <source>Nodata</source>
        <translation>无数据值</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="22"/>
        <source>Resolution</source>
        <translation>分辨率</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="22"/>
        <source>Coverage %</source>
        <translation>覆盖率 %</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="23"/>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="178"/>
        <source>Warnings</source>
        <translation>警告</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="172"/>
        <source>Other layers are picked than in the preview: its layer types and class fields are not used (run Preview again).</source>
        <translation>所选图层与预览时不同：不使用预览中的图层类别和分类字段（请重新预览）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="48"/>
        <source>Valid area: {0:.1f} % of the area (at least {1} of {2} layers with data); every layer has data on {3:.1f} %. Change a layer type or class field below, then Use for Align.</source>
        <translation>有效区域：研究区的 {0:.1f} %（{2} 个图层中至少 {1} 个有数据）；所有图层都有数据的区域占 {3:.1f} %。可在下方修改图层类别或分类字段，然后点击“用于对齐”。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="83"/>
        <source>What the layer measures, as the foundation model names it</source>
        <translation>图层所测量的内容（基础模型使用的名称）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="91"/>
        <source>The text field holding the classes (rock units)</source>
        <translation>存放类别（岩石单元）的文本字段</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="235"/>
        <source>Preview: {0} layers, {1} with warnings; valid area {2:.1f} % of the area.</source>
        <translation>预览：{0} 个图层，其中 {1} 个有警告；有效区域占研究区的 {2:.1f} %。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="70"/>
        <source>how detected: {0}</source>
        <translation>判定依据：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="206"/>
        <location filename="../mpm_plugin/dock_preview.py" line="228"/>
        <location filename="../mpm_plugin/dock_preview.py" line="229"/>
        <source>Preview failed: {0}</source>
        <translation>预览失败：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/dock_preview.py" line="89"/>
        <source>{0} ({1} values)</source>
        <translation>{0}（{1} 个值）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="42"/>
        <source>MPM Studio: install Python packages</source>
        <translation>MPM Studio：安装 Python 包</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="59"/>
        <source>Install from a folder of wheels (no internet)</source>
        <translation>从 wheel 文件夹安装（无需联网）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="61"/>
        <source>Folder holding the downloaded .whl files</source>
        <translation>存放已下载 .whl 文件的文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="62"/>
        <source>Browse...</source>
        <translation>浏览...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="79"/>
        <source>Install</source>
        <translation>安装</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="81"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="94"/>
        <source>Folder of wheels</source>
        <translation>wheel 文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="120"/>
        <source>Installing...</source>
        <translation>正在安装...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="37"/>
        <source>torch: fine-tuning and pretraining (a large download)</source>
        <translation>torch：微调与预训练（下载量较大）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="38"/>
        <source>Dask: running tiles on a cluster</source>
        <translation>Dask：在集群上分块运行</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="113"/>
        <source>Choose the folder of wheels first</source>
        <translation>请先选择 wheel 文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="136"/>
        <source>Cancelling...</source>
        <translation>正在取消...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="161"/>
        <source>Installed: MPM Studio can use them now</source>
        <translation>已安装：MPM Studio 现在即可使用</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="128"/>
        <source>Cancelled: nothing was installed</source>
        <translation>已取消：未安装任何内容</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="156"/>
        <source>Installed. Restart QGIS to use them: these were already loaded from elsewhere:</source>
        <translation>已安装。请重启 QGIS 以使用它们：以下模块已从其他位置加载：</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="49"/>
        <source>The pinned packages are installed with pip into a folder of this QGIS profile, never into QGIS's own Python:</source>
        <translation>固定版本的包将通过 pip 安装到此 QGIS 配置文件的文件夹中，绝不会装入 QGIS 自带的 Python：</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/install_dialog.py" line="159"/>
        <source>Installed, but still missing:</source>
        <translation>已安装，但仍缺少：</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="72"/>
        <location filename="../mpm_plugin/algorithms/embed.py" line="10"/>
        <location filename="../mpm_plugin/algorithms/pretrain.py" line="35"/>
        <source>Foundation model</source>
        <translation>基础模型</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="82"/>
        <source>The pretrained encoders the chain uses. A head only works with the model it was fine-tuned on.</source>
        <translation>流程使用的预训练编码器。预测头只能与其微调时所用的模型一起使用。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="85"/>
        <source>Add...</source>
        <translation>添加...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="87"/>
        <source>Add a model folder (one holding model_card.json)</source>
        <translation>添加模型文件夹（包含 model_card.json 的文件夹）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="91"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="102"/>
        <source>Stage 1: each source's encoder rebuilds hidden patches of its own layers</source>
        <translation>第一阶段：每个数据源的编码器重建其自身图层中被遮挡的图块</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="107"/>
        <source>Stage 2: the fusion rebuilds a hidden source from the others</source>
        <translation>第二阶段：融合模块由其他数据源重建被隐藏的数据源</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="110"/>
        <source>Steps (stage 1, stage 2)</source>
        <translation>步数（第一阶段，第二阶段）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="111"/>
        <source>Pretrain on my data</source>
        <translation>在我的数据上预训练</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="114"/>
        <source>Adapt the chosen model to the aligned stack without labels (deposits are never read). The new model is written to the output folder, selected, and its loss curves shown; fine-tune on it next.</source>
        <translation>在无标签的情况下使所选模型适应已对齐的数据栈（从不读取矿床）。新模型写入输出文件夹并被选中，同时显示其损失曲线；接下来在其上微调。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="172"/>
        <source>Choose a foundation model folder</source>
        <translation>选择基础模型文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="207"/>
        <source>Pretrain</source>
        <translation>预训练</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="207"/>
        <source>Pretraining on the aligned stack...</source>
        <translation>正在已对齐的数据栈上预训练...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="54"/>
        <source>Weights verified: sha256 {0}... matches the card.</source>
        <translation>权重已验证：sha256 {0}... 与模型卡一致。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="204"/>
        <source>Align a stack first: pretraining learns from it.</source>
        <translation>请先对齐数据栈：预训练从中学习。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="212"/>
        <source>Model written to {0} and selected; fine-tune on it next.</source>
        <translation>模型已写入 {0} 并被选中；接下来在其上微调。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="61"/>
        <source>Sources: {0}</source>
        <translation>数据源：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="163"/>
        <source>{0} holds no MPM Studio foundation model (model_card.json written by pretraining).</source>
        <translation>{0} 中没有 MPM Studio 基础模型（由预训练写出的 model_card.json）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="178"/>
        <source>No foundation model found in {0}.</source>
        <translation>在 {0} 中未找到基础模型。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="56"/>
        <source>This model cannot be used: {0}</source>
        <translation>此模型无法使用：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/models_panel.py" line="131"/>
        <source>{0} (shipped)</source>
        <translation>{0}（随插件提供）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="44"/>
        <source>MPM head</source>
        <translation>MPM 预测头</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="198"/>
        <source>Export PNG...</source>
        <translation>导出 PNG...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="200"/>
        <source>Save the plot of this tab as a PNG image</source>
        <translation>将此标签页的图表保存为 PNG 图像</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="220"/>
        <source>No validation report loaded.</source>
        <translation>未加载验证报告。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="240"/>
        <source>out-of-fold</source>
        <translation>折外</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="240"/>
        <source>whole map</source>
        <translation>整幅图</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="276"/>
        <source>step</source>
        <translation>步数</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="277"/>
        <source>loss (MSE)</source>
        <translation>损失（MSE）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="342"/>
        <source>random</source>
        <translation>随机</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="349"/>
        <source>chance (ROC-AUC 0.5)</source>
        <translation>随机水平（ROC-AUC 0.5）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="368"/>
        <source>recall (deposits found)</source>
        <translation>召回率（找到的矿床）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="369"/>
        <source>precision</source>
        <translation>精确率</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="397"/>
        <source>score threshold</source>
        <translation>得分阈值</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="398"/>
        <source>share (%)</source>
        <translation>比例（%）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="435"/>
        <source>Export plot as PNG</source>
        <translation>将图表导出为 PNG</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="436"/>
        <source>PNG images (*.png)</source>
        <translation>PNG 图像 (*.png)</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="75"/>
        <source>, folds {0:.2f}-{1:.2f}</source>
        <translation>，各折 {0:.2f}-{1:.2f}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="53"/>
        <source>Success rate</source>
        <translation>成功率</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="53"/>
        <source>ROC</source>
        <translation>ROC 曲线</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="53"/>
        <source>Precision-recall</source>
        <translation>精确率-召回率</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="53"/>
        <source>Prediction-area</source>
        <translation>预测-面积</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="54"/>
        <source>Training loss</source>
        <translation>训练损失</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="264"/>
        <source>No loss history</source>
        <translation>无损失记录</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="275"/>
        <source>Pretraining loss (running mean)</source>
        <translation>预训练损失（滑动平均）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="343"/>
        <source>area flagged (%)</source>
        <translation>圈定面积（%）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="343"/>
        <source>deposits captured (%)</source>
        <translation>捕获的矿床（%）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="350"/>
        <source>false positive rate (background pixels)</source>
        <translation>假阳性率（背景像元）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="350"/>
        <source>true positive rate (deposits)</source>
        <translation>真阳性率（矿床）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="388"/>
        <source>prediction rate (deposits, %)</source>
        <translation>预测率（矿床，%）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="390"/>
        <source>area not flagged (100 - area %)</source>
        <translation>未圈定面积（100 - 面积 %）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="344"/>
        <source>Success rate, {0}</source>
        <translation>成功率（{0}）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="351"/>
        <source>ROC, deposits against the background, {0}</source>
        <translation>ROC：矿床对背景（{0}）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="370"/>
        <source>Precision-recall, {0}</source>
        <translation>精确率-召回率（{0}）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="399"/>
        <source>Prediction-area plot: {0}</source>
        <translation>预测-面积图：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="172"/>
        <location filename="../mpm_plugin/wofe_panel.py" line="102"/>
        <location filename="../engine/operations.py" line="489"/>
        <source>Method</source>
        <translation>方法</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="341"/>
        <source>{0} (success-AUC {1:.3f})</source>
        <translation>{0}（成功率 AUC {1:.3f}）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="348"/>
        <source>{0} (ROC-AUC {1:.3f}{2})</source>
        <translation>{0}（ROC-AUC 值 {1:.3f}{2}）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="373"/>
        <source>Precision is the share of the flagged cells that hold a deposit; deposits are {0:.2%} of the cells, so a curve far above that dashed chance line is skill even when it looks low.</source>
        <translation>精度是被圈定的像元中含矿床的比例；矿床只占像元的 {0:.2%}，因此曲线只要远高于虚线所示的随机水平，即使数值看起来很低也说明有预测能力。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="236"/>
        <source>No validation report: {0}</source>
        <translation>无验证报告：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="274"/>
        <source>{0} (stage {1})</source>
        <translation>{0}（第 {1} 阶段）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="361"/>
        <source>{0} (PR-AUC {1:.3f})</source>
        <translation>{0}（PR-AUC 值 {1:.3f}）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="366"/>
        <source>chance (share of deposits {0:.3f})</source>
        <translation>随机水平（矿床占比 {0:.3f}）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plots.py" line="394"/>
        <source>intersection: {0:.0f} % of deposits in {1:.0f} % of the area</source>
        <translation>交点：{1:.0f} % 的面积内含 {0:.0f} % 的矿床</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plugin.py" line="45"/>
        <source>Show the MPM Studio panel</source>
        <translation>显示 MPM Studio 面板</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plugin.py" line="53"/>
        <location filename="../mpm_plugin/plugin.py" line="56"/>
        <location filename="../mpm_plugin/plugin.py" line="79"/>
        <location filename="../mpm_plugin/plugin.py" line="82"/>
        <source>&amp;MPM Studio</source>
        <translation>&amp;MPM Studio</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plugin.py" line="54"/>
        <source>Install Python packages...</source>
        <translation>安装 Python 包...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/plugin.py" line="62"/>
        <source>Install...</source>
        <translation>安装...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/provider.py" line="38"/>
        <source>MPM Studio: foundation-model mineral prospectivity</source>
        <translation>MPM Studio：基于基础模型的矿产远景制图</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/settings.py" line="82"/>
        <source>MPM Studio settings</source>
        <translation>MPM Studio 设置</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/settings.py" line="99"/>
        <source>library default</source>
        <translation>库默认值</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/settings.py" line="103"/>
        <source> px</source>
        <translation> 像元</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/settings.py" line="108"/>
        <source>Applied to the runs started from the panel.</source>
        <translation>应用于从面板启动的运行。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="28"/>
        <source>fault</source>
        <translation>断层</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="28"/>
        <source>lineament</source>
        <translation>线性构造</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="28"/>
        <source>contact</source>
        <translation>接触界线</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="28"/>
        <source>intrusion</source>
        <translation>侵入体</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="29"/>
        <source>alteration</source>
        <translation>蚀变带</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="246"/>
        <location filename="../mpm_plugin/structures_panel.py" line="84"/>
        <source>Left click: include, right click: exclude, drag: box; Z undo, C clear, S save</source>
        <translation>左键：包含点，右键：排除点，拖动：框选；Z 撤销，C 清除，S 保存</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="78"/>
        <source>Could not create the structures GeoPackage '{0}': {1}</source>
        <translation>无法创建构造 GeoPackage“{0}”：{1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="82"/>
        <source>Could not open layer {0} of '{1}'</source>
        <translation>无法打开“{1}”中的图层 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="226"/>
        <source>Encoding the view was cancelled; click to try again</source>
        <translation>视图编码已取消；请再次点击以重试</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="331"/>
        <source>Nothing to save yet: wait for the preview, the view is still being encoded</source>
        <translation>还没有可保存的要素：视图仍在编码中，请等待预览</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="333"/>
        <source>Nothing to save yet: click on a structure first</source>
        <translation>还没有可保存的要素：请先在构造上点击</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="363"/>
        <source>Saved a {0} to {1}</source>
        <translation>已将一条{0}保存到 {1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="219"/>
        <source>The view could not be encoded: {0}</source>
        <translation>无法编码该视图：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="252"/>
        <source>Encoding the view for SAM; the preview follows when it is ready ({0} include / {1} exclude points)</source>
        <translation>正在为 SAM 编码视图；完成后即显示预览（{0} 个包含点 / {1} 个排除点）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="276"/>
        <source>No {0} found at these prompts; add points or drag a box</source>
        <translation>在这些提示处未找到{0}；请添加点或拖动框选</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="357"/>
        <source>Could not write the feature to '{0}'</source>
        <translation>无法将要素写入“{0}”</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="65"/>
        <source>Could not add the fields {0} to '{1}'</source>
        <translation>无法向“{1}”添加字段 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="279"/>
        <source>{0}: low score {1:.2f}, {2} include / {3} exclude points: the raster shows little here (dashed); click on it further along, or right-click where it should stop; S saves it anyway</source>
        <translation>{0}：得分低 {1:.2f}，{2} 个包含点 / {3} 个排除点：栅格在此处显示的特征很弱（虚线）；请沿构造继续点击，或在应终止处右键单击；按 S 仍可保存</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structure_tool.py" line="284"/>
        <source>{0}: score {1:.2f}, {2} include / {3} exclude points; S saves it</source>
        <translation>{0}：得分 {1:.2f}，{2} 个包含点 / {3} 个排除点；按 S 保存</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="31"/>
        <source>Structures (SAM)</source>
        <translation>构造提取（SAM）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="39"/>
        <source>A magnetic or gravity grid, a DEM or an image</source>
        <translation>磁力或重力网格、DEM 或影像</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="40"/>
        <source>Raster</source>
        <translation>栅格</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="41"/>
        <source>Tilt derivative of this grid...</source>
        <translation>本网格的倾斜导数...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="42"/>
        <source>Faults and contacts show more evenly on a magnetic or gravity grid's tilt derivative than on the grid itself. Opens Potential-field derivatives for the chosen raster; the result is picked here to trace on</source>
        <translation>在磁力或重力网格的倾斜导数上，断层和接触带比在原网格上显示得更均衡。为所选栅格打开“位场导数”；其结果会在此处被选为追踪所用的栅格</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="48"/>
        <source>One band for a grid, or three (e.g. 1,2,3) for an image</source>
        <translation>网格取一个波段，影像取三个（如 1,2,3）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="49"/>
        <source>Bands</source>
        <translation>波段</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="54"/>
        <location filename="../engine/operations.py" line="440"/>
        <source>Feature type</source>
        <translation>要素类型</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="55"/>
        <source>Snap bodies to edges</source>
        <translation>岩体边界吸附到边缘</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="57"/>
        <source>Intrusions and alteration: the model finds the body, a watershed on the raster's gradient draws its boundary; a body asked with a box is the box's ellipse moved by the raster's values. Off: the model's own mask</source>
        <translation>侵入体和蚀变：由模型找到地质体，再由栅格梯度上的分水岭勾画其边界；用框选取的地质体取框内的椭圆，并按栅格值调整。关闭：使用模型自身的掩膜</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="66"/>
        <source> map units</source>
        <translation> 地图单位</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="68"/>
        <source>Simplification tolerance of the saved geometry (auto: one pixel of the view for lines, the exact pixel edges for bodies)</source>
        <translation>保存几何的简化容差（自动：线条按视图的一个像素简化，岩体保持精确的像素边界）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="71"/>
        <source>Simplify</source>
        <translation>简化</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="74"/>
        <source>Empty: the shipped GeoSAM. Or an official SAM checkpoint (sam_vit_b/l/h .pth)</source>
        <translation>留空：使用随附的 GeoSAM。或官方 SAM 检查点（sam_vit_b/l/h .pth）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="75"/>
        <source>SAM model</source>
        <translation>SAM 模型</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="80"/>
        <source>Trace structures on the map</source>
        <translation>在地图上勾绘构造</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="21"/>
        <source>Bands must be numbers separated by commas, e.g. 1 or 1,2,3</source>
        <translation>波段须为以逗号分隔的数字，如 1 或 1,2,3</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="94"/>
        <source>Choose a magnetic or gravity grid first</source>
        <translation>请先选择磁力或重力网格</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="125"/>
        <source>choose an output folder first (Output folder, above)</source>
        <translation>请先选择输出文件夹（上方的“输出文件夹”）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="188"/>
        <source>Structures: choose a raster file layer to trace on</source>
        <translation>构造提取：请选择一个用于勾绘的栅格文件图层</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="23"/>
        <source>Choose 1 to 3 bands between 1 and {0}</source>
        <translation>请选择 1 到 3 个波段，编号在 1 到 {0} 之间</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="116"/>
        <source>Tracing on {0}: contacts lie on its zero line, bodies under its highs</source>
        <translation>在 {0} 上追踪：接触带位于其零值线上，岩体位于其高值之下</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="109"/>
        <source>{0} tilt derivative</source>
        <translation>{0} 倾斜导数</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="129"/>
        <source>cannot create the output folder '{0}': {1}</source>
        <translation>无法创建输出文件夹“{0}”：{1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/structures_panel.py" line="194"/>
        <location filename="../mpm_plugin/structures_panel.py" line="200"/>
        <source>Structures: {0}</source>
        <translation>构造提取：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/view_encoder.py" line="25"/>
        <source>Encoding the map view for SAM</source>
        <translation>正在为 SAM 编码地图视图</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="35"/>
        <source>Weights of evidence...</source>
        <translation>证据权...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="37"/>
        <source>Calculate weights of one evidence layer against the known deposits: weights table and contrast plot</source>
        <translation>计算一个证据图层相对于已知矿床的权重：权重表和对比度图</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="80"/>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="50"/>
        <source>Weights of evidence</source>
        <translation>证据权</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="89"/>
        <source>An evidence raster of integer classes (e.g. distance in 100 m steps, lithology codes), in a projected CRS</source>
        <translation>整数类别的证据栅格（例如以 100 m 为步长的距离、岩性代码），采用投影坐标系</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="91"/>
        <source>Evidence raster</source>
        <translation>证据栅格</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="108"/>
        <source>Unit cell area</source>
        <translation>单位单元面积</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="112"/>
        <source>A class is used in the generalisation only when its studentised contrast reaches this</source>
        <translation>只有学生化对比度达到此值的类别才用于概化</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="114"/>
        <location filename="../engine/operations.py" line="493"/>
        <source>Studentised contrast threshold</source>
        <translation>学生化对比度阈值</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="115"/>
        <location filename="../mpm_plugin/wofe_panel.py" line="177"/>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="102"/>
        <source>Calculate weights</source>
        <translation>计算权重</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="118"/>
        <source>Pick an evidence raster and the known deposits, then Calculate weights.</source>
        <translation>选择证据栅格和已知矿床，然后点击“计算权重”。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="27"/>
        <source>categorical (each class)</source>
        <translation>categorical（逐类）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="27"/>
        <source>ascending (favourable when low)</source>
        <translation>ascending（数值低时有利）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="28"/>
        <source>descending (favourable when high)</source>
        <translation>descending（数值高时有利）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="131"/>
        <location filename="../mpm_plugin/wofe_panel.py" line="247"/>
        <location filename="../mpm_plugin/wofe_panel.py" line="235"/>
        <source>Contrast</source>
        <translation>对比度</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="132"/>
        <location filename="../mpm_plugin/wofe_panel.py" line="235"/>
        <source>Class</source>
        <translation>类别</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="157"/>
        <source>Pick an evidence raster and the known deposits first.</source>
        <translation>请先选择证据栅格和已知矿床。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="162"/>
        <source>Choose an output folder in the panel first.</source>
        <translation>请先在面板中选择输出文件夹。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="249"/>
        <source>Studentised contrast</source>
        <translation>学生化对比度</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="177"/>
        <location filename="../mpm_plugin/wofe_panel.py" line="181"/>
        <source>Calculating weights of '{0}'...</source>
        <translation>正在计算“{0}”的权重...</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="191"/>
        <source>{0} classes, {1} deposits; weights table {2}</source>
        <translation>{0} 个类别，{1} 个矿床；权重表 {2}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="235"/>
        <source>Stud. C</source>
        <translation>学生化对比度</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="237"/>
        <source>Studentised contrast threshold {0:g}</source>
        <translation>学生化对比度阈值 {0:g}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="239"/>
        <source>Favourable up to class {0}</source>
        <translation>有利范围直到类别 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="252"/>
        <source>threshold {0:g}</source>
        <translation>阈值 {0:g}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="190"/>
        <source>{0} generalised</source>
        <translation>{0} 概化</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/wofe_panel.py" line="256"/>
        <source>split {0}</source>
        <translation>分界 {0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/align.py" line="11"/>
        <source>Geology layers (lithology polygons, fault lines, geology rasters)</source>
        <translation>地质图层（岩性面、断层线、地质栅格）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/align.py" line="12"/>
        <source>Geochemistry sample points</source>
        <translation>地球化学采样点</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/align.py" line="13"/>
        <source>Geophysics grids</source>
        <translation>地球物理网格</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/align.py" line="14"/>
        <source>Remote sensing rasters</source>
        <translation>遥感栅格</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/align.py" line="62"/>
        <source>Stack: {0} bands, {1} x {2} px</source>
        <translation>数据栈：{0} 个波段，{1} × {2} 像元</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/align.py" line="66"/>
        <source>Deposits: {0} of {1} used, {2} outside the area, {3} on nodata</source>
        <translation>矿床：共 {1} 个，使用 {0} 个，{2} 个位于范围外，{3} 个位于无数据区</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/anomalies.py" line="30"/>
        <source>Top anomalies (CSV)</source>
        <translation>最强异常（CSV）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/anomalies.py" line="12"/>
        <source>Geochemical residuals per element</source>
        <translation>各元素地球化学残差</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/anomalies.py" line="35"/>
        <source>{0} anomalies over {1} elements; Spearman correlation with Mahalanobis {2:.3f}</source>
        <translation>基于 {1} 个元素识别出 {0} 个异常；与马氏距离的斯皮尔曼相关系数为 {2:.3f}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/align.py" line="20"/>
        <source>Align evidence stack</source>
        <translation>对齐证据数据栈</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/anomalies.py" line="17"/>
        <source>Geochemical anomalies</source>
        <translation>地球化学异常</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/derivatives.py" line="9"/>
        <source>Potential-field derivatives</source>
        <translation>位场导数</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/embed.py" line="9"/>
        <source>Foundation embedding</source>
        <translation>基础模型嵌入</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="30"/>
        <source>Fine-tune prospectivity head</source>
        <translation>微调成矿远景预测头</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/predict.py" line="18"/>
        <source>Predict prospectivity</source>
        <translation>预测成矿远景</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/pretrain.py" line="34"/>
        <source>Pretrain foundation encoders</source>
        <translation>预训练基础模型编码器</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/structures.py" line="13"/>
        <source>Extract structures (SAM) from prompt points</source>
        <translation>由提示点提取构造（SAM）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/targets.py" line="9"/>
        <source>Exploration targets</source>
        <translation>找矿靶区</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/validate.py" line="13"/>
        <source>Validate a prospectivity map</source>
        <translation>验证远景图</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="153"/>
        <source>Calculate response</source>
        <translation>计算响应</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="206"/>
        <source>Logistic regression</source>
        <translation>逻辑回归</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="246"/>
        <location filename="../engine/operations.py" line="574"/>
        <source>Fuzzy overlay</source>
        <translation>模糊叠加</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="98"/>
        <source>Data preparation</source>
        <translation>数据准备</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/structures.py" line="14"/>
        <location filename="../engine/operations.py" line="464"/>
        <source>Structures</source>
        <translation>构造</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/align.py" line="21"/>
        <source>Aligns the layers of every data source onto one grid: rasters are reprojected (continuous: bilinear, categorical: nearest), lithology polygons rasterised by class, faults turned into distance (km), geochemical samples gridded per element by inverse-distance weighting after below-detection handling and a centred log-ratio. Writes a stack folder (stack.tif, valid.tif, deposits.tif, stack.json) that every other MPM Studio tool reads. Inputs are never modified.</source>
        <translation>将各数据源的图层对齐到同一网格：栅格重投影（连续型：双线性插值；分类型：最邻近），岩性面按类别栅格化，断层转换为距离（km），地球化学样品经低于检出限处理和中心对数比变换后，按元素以反距离加权法网格化。输出一个数据栈文件夹（stack.tif、valid.tif、deposits.tif、stack.json），供 MPM Studio 的其他所有工具读取。输入数据不会被修改。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/anomalies.py" line="19"/>
        <source>Finds geochemical anomalies as what the pretrained geochemistry encoder cannot explain from the surroundings: each pixel's element values are predicted with its own neighbourhood hidden, and the residual (observed - expected, per element) is the anomaly. Writes into the output folder: residual.tif (one band per element), anomaly_score.tif (root-mean-square residual), mahalanobis.tif (the classical robust Mahalanobis distance, for comparison), top_anomalies.csv (the highest scores at least 1 km apart, with x, y and the three elements with the largest residuals) and anomalies.json. The stack must hold geochemistry layers. Runs on PyTorch (CPU is fine).</source>
        <translation>将预训练地球化学编码器无法由周边数据解释的部分识别为地球化学异常：在遮蔽每个像元自身邻域的情况下预测其元素含量，残差（观测值 - 预测值，按元素）即为异常。输出文件夹中写入：residual.tif（每个元素一个波段）、anomaly_score.tif（残差均方根）、mahalanobis.tif（经典的稳健马氏距离，用于对比）、top_anomalies.csv（彼此相距至少 1 km 的最高得分点，含 x、y 及残差最大的三个元素）和 anomalies.json。数据栈须包含地球化学图层。基于 PyTorch 运行（CPU 即可）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/derivatives.py" line="10"/>
        <source>Derivatives of a magnetic or gravity grid that faults, dykes and contacts show up on: the tilt derivative (radians; it balances weak and strong anomalies, contacts lie on its zero line), the total horizontal gradient (peaks over steep contacts) and the first vertical derivative. Written as one GeoTIFF on the grid's own pixels, one band per derivative, nodata kept. The grid must be in a projected CRS (pixels in metres); reduce magnetics to the pole first where you can. Display a band and trace faults and contacts on it in the Structures (SAM) panel.</source>
        <translation>磁力或重力网格的导数，断层、岩墙和接触带在其上显现：倾斜导数（弧度；平衡强弱异常，接触带位于其零值线上）、总水平梯度（在陡倾接触带上方取极大值）和一阶垂向导数。写入一个 GeoTIFF，像元与原网格相同，每种导数一个波段，保留无数据区。网格须为投影坐标系（像元以米为单位）；磁力数据尽可能先化极。显示其中一个波段，即可在“构造提取（SAM）”面板中于其上追踪断层和接触带。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/embed.py" line="11"/>
        <source>Runs the pretrained per-source encoders and their fusion over a whole aligned stack, tile by tile with a halo (seamless, memory bounded by the tile), and writes the fused embedding as a multi-band GeoTIFF at patch resolution (one value per patch of pixels, one band per embedding dimension, nodata where no source has data). Useful for clustering, similarity search or your own models; the prospectivity tools compute and cache it themselves.</source>
        <translation>在整个对齐数据栈上逐块（带重叠边带，无接缝，内存占用受分块大小限制）运行各数据源的预训练编码器及其融合模块，并将融合嵌入写为图块分辨率的多波段 GeoTIFF（每个像元图块一个值，每个嵌入维度一个波段，所有数据源均无数据处为无数据值）。可用于聚类、相似性检索或您自己的模型；成矿远景工具会自行计算并缓存嵌入。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="32"/>
        <source>Trains the prospectivity head of an aligned stack: linear members on the evidence layers (rock units and other classes as their weights of evidence) and random-forest members, averaged, with the stack's known deposits as positives and random background cells (away from the deposits) as unlabelled samples. With validation on, the area is split into square spatial blocks, each method is trained on the other blocks and scores every valid cell of the held-out ones: the head, a random forest and weights of evidence, and with Compare with the foundation embeddings ticked also the head with the foundation model's embeddings added (the log says whether they add skill on your data). ROC-AUC, PR-AUC beside chance and the share of deposits in the top 10 % of the area are written to validation.json and validation.png in the head folder; the ROC-AUCs are returned. The embedding is cached (MPM_CACHE_DIR). The stack must have been aligned with deposits. Output: a head folder for Predict prospectivity.</source>
        <translation>训练对齐数据栈的成矿远景预测头：基于证据图层的线性成员（岩石单元等类别以其证据权表示）与随机森林成员取平均，以数据栈中的已知矿床为正样本、远离矿床的随机背景像元为无标签样本。开启验证时，研究区被划分为正方形空间块，每种方法在其余块上训练，并对留出块的每个有效像元打分：预测头、随机森林和证据权；勾选“与基础模型嵌入比较”时还包括加入基础模型嵌入的预测头（日志会说明嵌入在您的数据上是否提高了预测能力）。ROC-AUC、PR-AUC（附随机水平）以及面积前 10 % 中的矿床比例写入预测头文件夹中的 validation.json 和 validation.png；返回各方法的 ROC-AUC。嵌入会被缓存（MPM_CACHE_DIR）。数据栈必须在对齐时提供矿床。输出：供“预测远景”使用的预测头文件夹。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/predict.py" line="20"/>
        <source>Maps prospectivity over an aligned stack with a head from Fine-tune prospectivity head. Writes into the output folder: prospectivity.tif (probability 0-1), uncertainty.tif (spread of the head's ensemble) and, with contributions on, contributions.tif: one band per data source, the drop in probability when that source is left out (positive: the source raises prospectivity there), and coverage.tif: how many of the stack's layers have data in each cell (cells where some layers are missing are predicted from the others). The stack must hold the layers the head was trained on, matched by name in any order; it may cover a new area. The rasters are loaded into the project.</source>
        <translation>使用“微调成矿远景预测头”得到的预测头，在对齐数据栈上进行成矿远景制图。输出文件夹中写入：prospectivity.tif（概率 0-1）、uncertainty.tif（预测头集成成员间的离散程度），开启贡献计算时还写入 contributions.tif：每个数据源一个波段，表示去掉该数据源后概率的下降量（正值：该数据源提高了此处的成矿远景），以及 coverage.tif：每个像元中有数据的图层个数（缺少部分图层的像元由其余图层预测）。数据栈须包含训练预测头时的图层，按名称匹配，顺序不限；可以覆盖新的区域。栅格会加载到工程中。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/pretrain.py" line="36"/>
        <source>Pretrains the per-source foundation encoders without labels (deposits are never read): stage 1 reconstructs hidden patches of each source from the rest of that source, stage 2 reconstructs one source from the others through the fusion. Learns from tiles of your aligned stacks and/or seeded synthetic scenes. Stacks: one or more aligned stack folders, or any file inside one (such as the stack.tif an Align evidence stack step outputs: in the modeler, connect the 'Aligned stack' outputs of as many align steps as you like). The output folder gets weights.safetensors, model_card.json, MODEL_CARD.md, loss curves and a checkpoint; re-running into the same folder resumes from the checkpoint. To adapt an existing model to your area (much faster than from scratch), give it as the model to start from. Use the folder as MODEL in the other MPM Studio tools. Needs PyTorch; a GPU is used when there is one.</source>
        <translation>在无标签的情况下预训练各数据源的基础编码器（从不读取矿床）：第一阶段由同一数据源的其余部分重建其被遮挡的图块，第二阶段通过融合模块由其他数据源重建一个数据源。从已对齐数据栈的图块和/或带种子的合成场景中学习。数据栈：一个或多个已对齐数据栈文件夹，或其中的任一文件（例如“对齐证据数据栈”步骤输出的 stack.tif：在图形建模器中，可连接任意多个对齐步骤的“已对齐数据栈”输出）。输出文件夹包含 weights.safetensors、model_card.json、MODEL_CARD.md、损失曲线和检查点；再次运行到同一文件夹时从检查点继续。若要使已有模型适应您的研究区（比从头训练快得多），请将其设为起始模型。在 MPM Studio 的其他工具中将该文件夹用作 MODEL。需要 PyTorch；有 GPU 时使用 GPU。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/structures.py" line="15"/>
        <source>Runs the Segment-Anything structure extractor on a raster (a magnetic or gravity grid, a DEM, an image) for every group of prompt points and writes one feature per group to a GeoPackage: a centre line for faults, lineaments and contacts (layer 'structure_lines'), a polygon for intrusions and alteration (layer 'structure_polygons'), in the raster's CRS. Points of one group share a value of the group field (empty: every point is its own group); the label field holds 1 for include and 0 for exclude points (empty: all include); the type field, when given, sets the feature type per group, else TYPE applies to all. Each group is segmented in a view centred on its points, at least CONTEXT raster pixels across. MODEL: empty for the shipped GeoSAM, or an official SAM checkpoint (sam_vit_b/l/h .pth) you downloaded. Attributes: type, score (the model's predicted IoU), include/exclude point counts, group, raster, bands, model, creation time.</source>
        <translation>在栅格（磁力或重力网格、DEM、影像）上对每组提示点运行 Segment-Anything 构造提取器，每组向 GeoPackage 写入一个要素，坐标系与栅格相同：断层、线性构造和接触界线为中心线（图层“structure_lines”），侵入体和蚀变带为多边形（图层“structure_polygons”）。同一组的点在分组字段中取相同的值（留空：每个点自成一组）；标签字段中 1 表示包含点、0 表示排除点（留空：全部为包含点）；若给出类型字段，则按组设定要素类型，否则所有分组使用 TYPE。每组在以其点为中心、宽度至少 CONTEXT 个栅格像元的视图中分割。MODEL：留空使用随附的 GeoSAM，或使用您下载的官方 SAM 检查点（sam_vit_b/l/h .pth）。属性：类型、得分（模型预测的 IoU）、包含/排除点数、分组、栅格、波段、模型、创建时间。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/targets.py" line="11"/>
        <source>Turns a prospectivity map into ranked target polygons (GeoPackage, layer 'targets'). Mode 'capture': the probability cut is chosen so the targets hold the given fraction of the known deposits (VALUE 0.8 = 80 %; needs the stack folder, whose deposits are used). Mode 'threshold': VALUE is the probability cut itself (0-1). Areas smaller than the minimum area are dropped. Each target carries its rank (by mean probability), area in km2, mean and maximum probability, mean uncertainty and dominant data source (when the prediction folder has uncertainty.tif and contributions.tif), and the number of known deposits inside.</source>
        <translation>将成矿远景图转换为排序的靶区多边形（GeoPackage，图层 'targets'）。模式 'capture'：选取概率阈值，使靶区包含指定比例的已知矿床（VALUE 0.8 = 80%；需要数据栈文件夹，使用其中的矿床）。模式 'threshold'：VALUE 即概率阈值本身（0-1）。面积小于最小面积的区域将被剔除。每个靶区带有：排名（按平均概率）、面积（km2）、平均与最大概率、平均不确定性和主导数据源（当预测文件夹中有 uncertainty.tif 和 contributions.tif 时），以及区内已知矿床数。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/validate.py" line="15"/>
        <source>Judges a finished prospectivity map (from Predict prospectivity, or from any other method) against known deposit points over the whole map: the success-rate curve (deposits captured against area flagged) and its AUC, ROC-AUC and PR-AUC (every valid pixel is the background), the prediction-area plot and the share of deposits in the top 10 % of the area. Deposits outside the map or on nodata are left out and listed. Writes validation.json and validation.png into the output folder (open it with the panel's Open results... to see the curves). Use it to compare maps made with different data or methods on the same deposits; for the head's own out-of-fold figures use Fine-tune prospectivity head.</source>
        <translation>在整幅图上用已知矿床点评价一幅完成的远景图（来自“预测远景”或任何其他方法）：成功率曲线（捕获的矿床比例对圈定面积比例）及其 AUC、ROC-AUC 和 PR-AUC（所有有效像元作为背景）、预测-面积图，以及面积前 10 % 中的矿床比例。位于图外或无数据像元上的矿床被剔除并列出。在输出文件夹中写入 validation.json 和 validation.png（用面板的“打开结果...”查看曲线）。可用于在同一批矿床上比较由不同数据或方法得到的图；预测头自身的折外指标请使用“微调远景预测头”。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="103"/>
        <source>Weights of evidence of one evidence raster of integer classes against known deposit points, as ArcSDM and Geoscience Australia compute them (checked number by number against GA's Cloncurry reference). Method categorical: each class on its own (lithology, stratigraphy); ascending: cumulative from the lowest class, for evidence favourable when low (distance to a structure); descending: cumulative from the highest class (density, intensity). The weights table (CSV) has GA's columns: CLASS, areas, NO_POINTS, W+, W- and their standard deviations, CONTRAST, S_CONTRAST, studentised contrast STUDC, GEN_CLASS, WEIGHT and W_STD. Generalisation: a cumulative table becomes binary (GEN_CLASS 2 up to the class of maximum contrast among those whose studentised contrast reaches the threshold, 1 beyond); a categorical table keeps each class with its W+ (or, with pooling, the classes below the threshold become class 99). The generalised raster is the evidence reclassified to GEN_CLASS: give it with the table to Calculate response. A raster with fractional values must be reclassified into integer classes first.</source>
        <translation>按 ArcSDM 和澳大利亚地球科学局（GA）的算法，计算一个整数分类证据栅格相对于已知矿床点的证据权（已与 GA 的 Cloncurry 参考结果逐项核对）。方法 categorical：每个类别单独计算（岩性、地层）；ascending：从最小类别开始累积，适用于数值越低越有利的证据（到构造的距离）；descending：从最大类别开始累积（密度、强度）。权重表（CSV）采用 GA 的列：CLASS、面积、NO_POINTS、W+、W- 及其标准差、CONTRAST、S_CONTRAST、学生化对比度 STUDC、GEN_CLASS、WEIGHT 和 W_STD。概化：累积表变为二值（GEN_CLASS 2 为直到学生化对比度达到阈值的类别中对比度最大的类别为止，其后为 1）；分类表保留每个类别及其 W+（若选择合并，则低于阈值的类别合并为类别 99）。概化栅格是按 GEN_CLASS 重分类后的证据：将其与权重表一起交给“计算响应”。含小数值的栅格须先重分类为整数类别。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="154"/>
        <source>Posterior probability of a deposit per unit cell from several evidence maps and their weights tables (GA / ArcSDM Calculate Response): posterior logit = prior logit + the sum of each pixel's class WEIGHT; its standard deviation from the weights' variances (and the missing-data variance), and the confidence (posterior / standard deviation). Give the generalised rasters from Calculate weights with their tables, in the same order, on one grid. Checks conditional independence: the ratio of observed to predicted deposits (warning below 0.85) and Agterberg &amp; Cheng's test (warning when its probability exceeds 0.95); a warning means correlated evidence inflates the posterior: drop or merge such maps. Writes posterior.tif, posterior_std.tif, confidence.tif, conditions.csv (each unique condition), auc.csv (threshold table and AUC) and summary.json into a new folder.</source>
        <translation>由多个证据图及其权重表计算每个单位单元出现矿床的后验概率（GA / ArcSDM 的 Calculate Response）：后验 logit = 先验 logit + 各像元所属类别 WEIGHT 之和；其标准差来自权重的方差（及缺失数据方差），置信度 = 后验 / 标准差。请按相同顺序给出“计算权重”生成的概化栅格及其权重表，且位于同一网格。检验条件独立性：观测与预测矿床数之比（低于 0.85 时警告）以及 Agterberg 与 Cheng 检验（其概率超过 0.95 时警告）；出现警告说明相关的证据夸大了后验概率：请删除或合并这些图层。在新文件夹中写入 posterior.tif、posterior_std.tif、confidence.tif、conditions.csv（每个唯一条件）、auc.csv（阈值表和 AUC）以及 summary.json。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="207"/>
        <source>Logistic regression on the same evidence as weights of evidence (ArcSDM's Logistic Regression): each map's generalised classes (GEN_CLASS of its weights table) become indicator variables (the largest class is the reference) and the model is fitted on the unique conditions (deposits out of the area in unit cells). Unlike weights of evidence it does not count correlated evidence twice: the predicted deposits equal the observed ones. Give the evidence rasters with their weights tables, in the same order. Writes lr_posterior.tif, lr_posterior_std.tif, coefficients.csv (each coefficient with its standard error), conditions.csv, auc.csv and summary.json into a new folder.</source>
        <translation>在与证据权相同的证据上进行逻辑回归（ArcSDM 的 Logistic Regression）：每个图层的概化类别（其权重表的 GEN_CLASS）成为指示变量（面积最大的类别为参照），模型在唯一条件上拟合（以单位单元计的面积中的矿床数）。与证据权不同，它不会重复计算相关的证据：预测矿床数等于观测矿床数。请按相同顺序给出证据栅格及其权重表。在新文件夹中写入 lr_posterior.tif、lr_posterior_std.tif、coefficients.csv（每个系数及其标准误差）、conditions.csv、auc.csv 和 summary.json。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="247"/>
        <source>Knowledge-driven prospectivity for areas with too few deposits to weigh evidence: each raster becomes a fuzzy membership (0 to 1, how favourable each value is) and the memberships are combined. One row of memberships per raster, in the same order: function, A, B. linear: membership 0 at A, 1 at B (A &gt; B when low values are favourable); small / large: midpoint A, spread B (ArcGIS Fuzzy Small / Large); gaussian: centre A, spread B. Operators: and (minimum), or (maximum), product, sum (1 - product of 1 - m), gamma (sum^gamma x product^(1 - gamma)). qgis_process: --MEMBERSHIPS=linear,5000,0,large,3,5 (rows one after the other). The rasters must be on one grid; nodata stays nodata.</source>
        <translation>知识驱动的成矿远景评价，适用于矿床太少、无法计算证据权的地区：每个栅格转换为模糊隶属度（0 到 1，表示每个值的有利程度），再将隶属度组合。每个栅格一行隶属度参数，顺序相同：函数、A、B。linear：A 处隶属度为 0，B 处为 1（数值越低越有利时 A &gt; B）；small / large：中点 A，扩展度 B（ArcGIS 的 Fuzzy Small / Large）；gaussian：中心 A，扩展度 B。运算符：and（最小值）、or（最大值）、product（乘积）、sum（1 - (1 - m) 的乘积）、gamma（sum^gamma x product^(1 - gamma)）。qgis_process：--MEMBERSHIPS=linear,5000,0,large,3,5（各行依次排列）。栅格须位于同一网格；无数据仍为无数据。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="240"/>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="328"/>
        <source>the expected folder</source>
        <translation>所需的文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="426"/>
        <source>Layer '{0}' has an unsupported type</source>
        <translation>图层“{0}”的类型不受支持</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="136"/>
        <source>Terminated (SIGTERM): the run stopped and nothing was written</source>
        <translation>已终止（SIGTERM）：运行已停止，未写入任何内容</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="325"/>
        <source>{0}: the folder '{1}' does not exist</source>
        <translation>{0}：文件夹“{1}”不存在</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="327"/>
        <source>{0}: '{1}' is not {2} (no {3} in it)</source>
        <translation>{0}：“{1}”不是{2}（其中没有 {3}）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="340"/>
        <source>{0}: no output folder given</source>
        <translation>{0}：未指定输出文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="343"/>
        <source>{0}: '{1}' is a file; choose a new folder</source>
        <translation>{0}：“{1}”是一个文件；请选择一个新文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="370"/>
        <source>{0}: no output file given</source>
        <translation>{0}：未指定输出文件</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="372"/>
        <source>{0}: MPM Studio writes {1} files; give a path ending in {1} (got '{2}')</source>
        <translation>{0}：MPM Studio 输出 {1} 文件；请给出以 {1} 结尾的路径（当前为“{2}”）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="407"/>
        <location filename="../mpm_plugin/algorithms/base.py" line="259"/>
        <source>Could not load the layer given for {0}</source>
        <translation>无法加载为 {0} 指定的图层</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="424"/>
        <source>Exported '{0}' to {1}</source>
        <translation>已将“{0}”导出到 {1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="254"/>
        <source>{0}: '{1}' does not exist</source>
        <translation>{0}：“{1}”不存在</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="349"/>
        <source>{0}: the output folder '{1}' already exists and is not empty; MPM Studio never writes into or deletes an existing folder. Choose a new folder name (it will be created), or delete that folder yourself</source>
        <translation>{0}：输出文件夹“{1}”已存在且不为空；MPM Studio 从不写入或删除已有文件夹。请另选一个新的文件夹名称（将自动创建），或自行删除该文件夹</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="362"/>
        <source>{0}: the folder '{1}' cannot be created ({2}); choose an output in a folder you can write to</source>
        <translation>{0}：无法创建文件夹“{1}”（{2}）；请在您有写入权限的文件夹中选择输出</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="413"/>
        <source>Layer '{0}' is not a file raster; save it as GeoTIFF first</source>
        <translation>图层“{0}”不是文件栅格；请先将其另存为 GeoTIFF</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/base.py" line="423"/>
        <source>Could not export layer '{0}': {1}</source>
        <translation>无法导出图层“{0}”：{1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/embed.py" line="19"/>
        <source>Embedding written with backend {0}</source>
        <translation>已使用后端 {0} 写出嵌入</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="16"/>
        <source>The head reads the evidence layers; the foundation embeddings were not compared on this stack (tick Compare with the foundation embeddings to measure them).</source>
        <translation>预测头读取证据图层；未在此数据栈上比较基础模型嵌入（勾选“与基础模型嵌入比较”以进行评估）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="18"/>
        <source>Embeddings add skill here: ROC-AUC {0:.3f} with them, {1:.3f} without.</source>
        <translation>在此数据上嵌入提高了预测能力：加入嵌入 ROC-AUC {0:.3f}，不加 {1:.3f}。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="19"/>
        <source>Embeddings add no skill here: ROC-AUC {0:.3f} with them, {1:.3f} without.</source>
        <translation>在此数据上嵌入没有提高预测能力：加入嵌入 ROC-AUC {0:.3f}，不加 {1:.3f}。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="44"/>
        <location filename="../mpm_plugin/algorithms/validate.py" line="24"/>
        <source>Validation report (JSON)</source>
        <translation>验证报告（JSON）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="23"/>
        <source>ROC-AUC of the foundation head (spatial CV)</source>
        <translation>基础模型预测头的 ROC-AUC（空间交叉验证）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="24"/>
        <source>ROC-AUC of the random forest baseline (spatial CV)</source>
        <translation>随机森林基准的 ROC-AUC（空间交叉验证）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="25"/>
        <source>ROC-AUC of the weights-of-evidence baseline (spatial CV)</source>
        <translation>证据权基准的 ROC-AUC（空间交叉验证）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/finetune.py" line="51"/>
        <source>Head trained on {0} deposits: {1}</source>
        <translation>已基于 {0} 个矿床训练预测头：{1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/predict.py" line="12"/>
        <source>Source contributions</source>
        <translation>数据源贡献</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/predict.py" line="34"/>
        <source>Mean probability {0:.3f}, maximum {1:.3f} over {2} valid pixels</source>
        <translation>{2} 个有效像元上的平均概率 {0:.3f}，最大值 {1:.3f}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/pretrain.py" line="50"/>
        <source>Model card (model_card.json)</source>
        <translation>模型卡（model_card.json）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/pretrain.py" line="51"/>
        <source>Loss curves (PNG)</source>
        <translation>损失曲线（PNG）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/pretrain.py" line="65"/>
        <source>Final losses: {0}</source>
        <translation>最终损失：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/pretrain.py" line="64"/>
        <source>ONNX files: {0}</source>
        <translation>ONNX 文件：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/pretrain.py" line="25"/>
        <source>STACKS: '{0}' is not an aligned stack folder, nor a file in one (no stack.json)</source>
        <translation>STACKS：“{0}”既不是对齐数据栈文件夹，也不是其中的文件（没有 stack.json）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/structures.py" line="27"/>
        <source>Layers written</source>
        <translation>已写入的图层</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/structures.py" line="28"/>
        <source>Structures written</source>
        <translation>已写入的构造</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/structures.py" line="40"/>
        <source>{0} structures written; groups without a result: {1}</source>
        <translation>已写入 {0} 个构造；无结果的分组：{1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/structures.py" line="41"/>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/targets.py" line="21"/>
        <source>{0} targets, {1:.1f} km2 above probability {2:.3f}; {3} of {4} known deposits inside</source>
        <translation>{0} 个靶区，概率高于 {2:.3f} 的面积共 {1:.1f} km2；区内包含 {4} 个已知矿床中的 {3} 个</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/validate.py" line="25"/>
        <source>ROC-AUC over the whole map</source>
        <translation>整幅图的 ROC-AUC</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/validate.py" line="26"/>
        <source>Success-rate AUC</source>
        <translation>成功率 AUC</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/validate.py" line="33"/>
        <source>ROC-AUC {0:.3f}, success-rate AUC {1:.3f}; {2} deposits used, {3} left out</source>
        <translation>ROC-AUC {0:.3f}，成功率 AUC {1:.3f}；使用 {2} 个矿床，剔除 {3} 个</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="54"/>
        <source>Evidence rasters (usually generalised)</source>
        <translation>证据栅格（通常为概化栅格）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="57"/>
        <source>Weights tables (CSV, one per raster)</source>
        <translation>权重表（CSV，每个栅格一个）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="76"/>
        <source>EVIDENCE: no evidence raster given; give at least one</source>
        <translation>EVIDENCE：未给出证据栅格；请至少给出一个</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="118"/>
        <source>Deposits in the study area</source>
        <translation>研究区内的矿床数</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="119"/>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="170"/>
        <source>Prior probability per unit cell</source>
        <translation>每个单位单元的先验概率</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="120"/>
        <source>Classes reaching the studentised contrast</source>
        <translation>达到学生化对比度阈值的类别数</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="167"/>
        <source>Unique conditions (CSV)</source>
        <translation>唯一条件（CSV）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="168"/>
        <source>Threshold table and AUC (CSV)</source>
        <translation>阈值表和 AUC（CSV）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="169"/>
        <source>Summary (JSON)</source>
        <translation>摘要（JSON）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="171"/>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="219"/>
        <source>AUC of the posterior</source>
        <translation>后验概率的 AUC</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="172"/>
        <source>Deposits observed</source>
        <translation>观测矿床数</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="173"/>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="220"/>
        <source>Deposits predicted (sum of posterior x area)</source>
        <translation>预测矿床数（后验概率 x 面积之和）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="174"/>
        <source>Observed / predicted deposits</source>
        <translation>观测 / 预测矿床数之比</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="175"/>
        <source>Agterberg-Cheng z</source>
        <translation>Agterberg-Cheng 检验 z 值</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="176"/>
        <source>Agterberg-Cheng probability of dependence</source>
        <translation>Agterberg-Cheng 检验的非独立概率</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="177"/>
        <source>Conditional independence violated</source>
        <translation>违反条件独立性</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="218"/>
        <source>Coefficients (CSV)</source>
        <translation>系数（CSV）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="221"/>
        <source>The fit converged</source>
        <translation>拟合已收敛</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="257"/>
        <source>Evidence rasters</source>
        <translation>证据栅格</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="259"/>
        <source>Membership per raster (function, A, B)</source>
        <translation>每个栅格的隶属度（函数、A、B）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="131"/>
        <source>Weights ({0}) of '{1}': {2} classes, {3} deposits in {4:.2f} unit cells, prior {5:.6g}; {6} classes with studentised contrast &gt;= {7:g}</source>
        <translation>“{1}”的权重（{0}）：{2} 个类别，{4:.2f} 个单位单元中有 {3} 个矿床，先验概率 {5:.6g}；{6} 个类别的学生化对比度 &gt;= {7:g}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="21"/>
        <source>Posterior probability</source>
        <translation>后验概率</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="22"/>
        <source>Posterior standard deviation</source>
        <translation>后验概率标准差</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="23"/>
        <source>Confidence (posterior / std)</source>
        <translation>置信度（后验 / 标准差）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="186"/>
        <source>Response of {0} evidence maps: {1} unique conditions, prior {2:.6g}, posterior {3:.4g} to {4:.4g}, AUC {5:.4f}</source>
        <translation>{0} 个证据图的响应：{1} 个唯一条件，先验概率 {2:.6g}，后验概率 {3:.4g} 至 {4:.4g}，AUC {5:.4f}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="189"/>
        <source>Conditional independence: {0} deposits observed, {1:.1f} predicted (ratio {2:.2f}); Agterberg-Cheng z {3:.2f}, probability {4:.3f}</source>
        <translation>条件独立性：观测矿床 {0} 个，预测 {1:.1f} 个（比值 {2:.2f}）；Agterberg-Cheng 检验 z = {3:.2f}，概率 {4:.3f}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="24"/>
        <source>Logistic regression posterior</source>
        <translation>逻辑回归后验概率</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="25"/>
        <source>Logistic regression standard deviation</source>
        <translation>逻辑回归标准差</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="231"/>
        <source>Logistic regression: {0} in {1} iterations, AUC {2:.4f}, {3:.1f} deposits predicted for {4} observed</source>
        <translation>逻辑回归：{1} 次迭代{0}，AUC {2:.4f}，观测 {4} 个矿床，预测 {3:.1f} 个</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="232"/>
        <source>converged</source>
        <translation>已收敛</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="232"/>
        <source>NOT converged</source>
        <translation>未收敛</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="260"/>
        <source>Function</source>
        <translation>函数</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="267"/>
        <source>LAYERS: no raster given; give at least one</source>
        <translation>LAYERS：未给出栅格；请至少给出一个</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="294"/>
        <source>Fuzzy overlay ({0}) of {1} rasters written to {2}</source>
        <translation>{1} 个栅格的模糊叠加（{0}）已写入 {2}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="79"/>
        <source>{0} evidence rasters but {1} weights tables: give one table per raster, in the same order (TABLES)</source>
        <translation>{0} 个证据栅格但有 {1} 个权重表：请为每个栅格按相同顺序给出一个权重表（TABLES）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="84"/>
        <source>Evidence '{0}' with weights table {1}</source>
        <translation>证据“{0}”使用权重表 {1}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="97"/>
        <source>Warning: {0}</source>
        <translation>警告：{0}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="136"/>
        <source>Favourable: class {0} {1} (contrast {2:.3f}, studentised {3:.2f}): W+ {4:.4f}, W- {5:.4f}</source>
        <translation>有利：类别 {0} {1}（对比度 {2:.3f}，学生化对比度 {3:.2f}）：W+ {4:.4f}，W- {5:.4f}</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="277"/>
        <source>MEMBERSHIPS has {0} values for {1} rasters: give 3 per raster (function, A, B), in the rasters' order</source>
        <translation>MEMBERSHIPS 有 {0} 个值，但栅格有 {1} 个：请按栅格顺序为每个栅格给出 3 个值（函数、A、B）</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="283"/>
        <source>MEMBERSHIPS row {0} ('{1}'): unknown function '{2}'; use linear, small, large or gaussian</source>
        <translation>MEMBERSHIPS 第 {0} 行（“{1}”）：未知函数“{2}”；请使用 linear、small、large 或 gaussian</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="288"/>
        <source>MEMBERSHIPS row {0} ('{1}'): A and B must be numbers (got '{2}', '{3}')</source>
        <translation>MEMBERSHIPS 第 {0} 行（“{1}”）：A 和 B 必须是数字（得到“{2}”、“{3}”）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="101"/>
        <source>A new folder (it must not exist, or be empty).</source>
        <translation>一个新文件夹（必须不存在或为空）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="95"/>
        <source>Aligned stack folder</source>
        <translation>对齐数据栈文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="95"/>
        <source>aligned stack folder</source>
        <translation>对齐后的数据栈文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="95"/>
        <location filename="../engine/operations.py" line="280"/>
        <source>an aligned stack folder</source>
        <translation>对齐数据栈文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="97"/>
        <source>Foundation model folder (empty: the shipped model)</source>
        <translation>基础模型文件夹（留空：使用随插件提供的模型）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="98"/>
        <source>The pretrained foundation model: the folder holding model_card.json (as written by Pretrain foundation encoders), or the model_card.json itself. Leave empty for the model shipped with the plugin. A head only works with the model it was fine-tuned on.</source>
        <translation>预训练基础模型：包含 model_card.json 的文件夹（由“预训练基础模型编码器”生成），或 model_card.json 文件本身。留空则使用随插件提供的模型。预测头只能与其微调时所用的模型配合使用。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="470"/>
        <location filename="../engine/operations.py" line="116"/>
        <location filename="../engine/operations.py" line="323"/>
        <source>Known deposits (points)</source>
        <translation>已知矿床（点）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="471"/>
        <source>Every point must lie on a valid pixel of the evidence; each point counts (GA's convention).</source>
        <translation>每个点都必须位于证据的有效像元上；每个点都计数（GA 的约定）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="473"/>
        <source>Unit cell area (km2)</source>
        <translation>单位单元面积（km2）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="474"/>
        <source>Area of one unit cell: the prior and the weights count deposits per unit cell. 1 km2 is usual; the study area must hold far more unit cells than deposits.</source>
        <translation>一个单位单元的面积：先验概率和权重按单位单元统计矿床数。通常为 1 km2；研究区的单位单元数必须远多于矿床数。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="476"/>
        <source>Missing-data class (empty: none)</source>
        <translation>缺失数据类别（留空：无）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="477"/>
        <source>The class value meaning 'inside the study area, evidence unknown here': kept out of the totals (weights) and adding the missing-data variance (response).</source>
        <translation>表示“位于研究区内、但此处证据未知”的类别值：不计入总数（权重），并增加缺失数据方差（响应）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="117"/>
        <source>known deposits (points)</source>
        <translation>已知矿床（点）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="118"/>
        <source>Area of interest (polygons)</source>
        <translation>研究区（面）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="119"/>
        <source>area of interest (polygons)</source>
        <translation>研究区（多边形）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="121"/>
        <source>Lithology class field (empty: first text field)</source>
        <translation>岩性分类字段（留空：第一个文本字段）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="123"/>
        <source>Elements to grid, comma separated (empty: all element fields)</source>
        <translation>需网格化的元素，以逗号分隔（留空：全部元素字段）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="125"/>
        <source>Layer types by layer name (name=type, comma separated; empty: guessed from the names)</source>
        <translation>按图层名称指定的图层类别（名称=类别，逗号分隔；留空：根据名称推断）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="126"/>
        <source>What each layer measures, a name of the model's vocabulary per layer (its file name without extension), e.g. mag_100m=magnetic, lith=lithology_unit. The panel's Align preview fills it in.</source>
        <translation>每个图层所测量的内容，按图层（不含扩展名的文件名）给出模型词表中的名称，例如 mag_100m=magnetic, lith=lithology_unit。面板的对齐预览会自动填写。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="129"/>
        <source>Class field by polygon layer name (name=field, comma separated; empty: the most informative)</source>
        <translation>按面图层名称指定的分类字段（名称=字段，逗号分隔；留空：信息量最大的字段）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="130"/>
        <source>The text field holding the classes of a polygon layer, per layer, e.g. lith=ROCK_NAME_. Overrides the lithology class field for that layer. The panel's Align preview fills it in.</source>
        <translation>每个面图层存放类别的文本字段，例如 lith=ROCK_NAME_。对该图层覆盖岩性分类字段。面板的对齐预览会自动填写。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="132"/>
        <source>Centred log-ratio transform of geochemistry</source>
        <translation>对地球化学数据做中心对数比（CLR）变换</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="133"/>
        <source>On: the geochemistry is gridded as centred log-ratios; off (CLI: --no-clr): as raw concentrations.</source>
        <translation>开：地球化学数据以中心对数比进行网格化；关（命令行：--no-clr）：以原始含量网格化。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="135"/>
        <source>Geochemistry search radius in metres (0: 3 x median sample spacing)</source>
        <translation>地球化学插值搜索半径，单位米（0：采样点间距中位数的 3 倍）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="136"/>
        <source>geochemistry IDW search radius in metres</source>
        <translation>地球化学反距离加权插值的搜索半径（米）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="137"/>
        <source>Target CRS (empty: the first raster's)</source>
        <translation>目标坐标参考系（留空：使用第一个栅格的坐标参考系）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="138"/>
        <source>target CRS, e.g. EPSG:3067 (default: the first raster's)</source>
        <translation>目标坐标参考系，例如 EPSG:3067（默认：第一个栅格的坐标参考系）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="140"/>
        <source>Target pixel size (0: most common raster pixel size)</source>
        <translation>目标像元大小（0：最常见的栅格像元大小）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="141"/>
        <source>target pixel size in CRS units (default: most common raster pixel)</source>
        <translation>目标像元大小，以坐标参考系单位计（默认：最常见的栅格像元大小）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="142"/>
        <source>Target extent (empty: AOI or raster overlap)</source>
        <translation>目标范围（留空：研究区或栅格重叠范围）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="145"/>
        <source>Output stack folder</source>
        <translation>输出数据栈文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="146"/>
        <source>output stack folder (must not exist unless --overwrite); not with --dry-run</source>
        <translation>输出叠加数据文件夹（除非使用 --overwrite，否则不得已存在）；使用 --dry-run 时不需要</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="226"/>
        <source>Aligned stack folder (with deposits)</source>
        <translation>对齐数据栈文件夹（含矿床）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="227"/>
        <source>A folder written by Align evidence stack with known deposits (stack.json, deposits.tif).</source>
        <translation>由“对齐证据数据栈”在含已知矿床时生成的文件夹（stack.json、deposits.tif）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="228"/>
        <source>Deposits to train on (points, optional)</source>
        <translation>用于训练的矿床（点，可选）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="229"/>
        <source>Another deposit type on the same stack: the stack and its cached embedding are reused. Empty: the deposits given to Align.</source>
        <translation>同一数据栈上的另一种矿床类型：沿用数据栈及其缓存的嵌入。留空：使用对齐时给出的矿床。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="233"/>
        <source>Background (unlabelled) pixels sampled</source>
        <translation>背景（无标签）像元采样数</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="234"/>
        <source>Random cells used as unlabelled samples in each training fold; more is slower and steadier.</source>
        <translation>每个训练折中用作无标签样本的随机像元；越多越慢、越稳定。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="236"/>
        <source>Buffer around deposits kept out of the background (m)</source>
        <translation>矿床周围排除于背景之外的缓冲距离（米）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="237"/>
        <source>metres around deposits kept out of the background</source>
        <translation>矿床周围不作为背景样本的距离（米）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="238"/>
        <source>Spatial cross-validation against baselines</source>
        <translation>与基准方法进行空间交叉验证</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="239"/>
        <source>Off: train the head only (faster), no validation report.</source>
        <translation>关闭：只训练预测头（更快），不生成验证报告。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="240"/>
        <source>Compare with the foundation embeddings</source>
        <translation>与基础模型嵌入比较</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="241"/>
        <source>Also cross-validate the head with the foundation model's embeddings added, so the report says whether they add skill on this stack. Embeds the stack once (cached): most of a first run's time.</source>
        <translation>同时交叉验证加入基础模型嵌入的预测头，使报告说明嵌入在此数据栈上是否提高了预测能力。对数据栈计算一次嵌入（有缓存）：占首次运行的大部分时间。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="243"/>
        <source>Cross-validation folds</source>
        <translation>交叉验证折数</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="244"/>
        <source>spatial cross-validation folds</source>
        <translation>空间交叉验证的折数</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="246"/>
        <source>Spatial block size (m)</source>
        <translation>空间块大小（米）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="247"/>
        <source>Deposits and background are grouped in square blocks of this size; whole blocks go to one fold, so validation is not flattered by spatial autocorrelation.</source>
        <translation>矿床和背景样本按此边长划分为正方形空间块；整块划入同一折，避免空间自相关使验证结果虚高。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="249"/>
        <location filename="../engine/operations.py" line="380"/>
        <source>Random seed</source>
        <translation>随机种子</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="250"/>
        <source>Head folder</source>
        <translation>预测头文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="255"/>
        <source>A folder written by Align evidence stack with the same layer kinds as the head's training stack.</source>
        <translation>由“对齐证据数据栈”生成、图层种类与预测头训练数据栈相同的文件夹。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="258"/>
        <source>Head folder (from Fine-tune prospectivity head)</source>
        <translation>预测头文件夹（来自“微调成矿远景预测头”）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="258"/>
        <source>head folder from finetune</source>
        <translation>微调得到的预测头文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="257"/>
        <source>a head folder</source>
        <translation>预测头文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="260"/>
        <source>Per-source contribution maps</source>
        <translation>各数据源贡献图</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="261"/>
        <source>Costs one more embedding pass per source (cached afterwards).</source>
        <translation>每个数据源需多计算一次嵌入（之后会缓存）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="262"/>
        <source>Prediction folder</source>
        <translation>预测结果文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="268"/>
        <source>Prediction folder (from Predict prospectivity)</source>
        <translation>预测结果文件夹（来自“预测成矿远景”）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="269"/>
        <source>Holds prospectivity.tif; uncertainty.tif and contributions.tif are used when present.</source>
        <translation>包含 prospectivity.tif；如有 uncertainty.tif 和 contributions.tif 也会使用。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="268"/>
        <source>a prediction folder</source>
        <translation>预测结果文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="270"/>
        <source>How to cut the map</source>
        <translation>阈值划分方式</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="271"/>
        <source>Values: capture, threshold. capture: VALUE is the fraction of known deposits the targets must hold; threshold: VALUE is the probability cut.</source>
        <translation>可选值：capture、threshold。capture：VALUE 为靶区须包含的已知矿床比例；threshold：VALUE 为概率阈值。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="274"/>
        <source>Fraction of deposits captured, or probability threshold</source>
        <translation>捕获的矿床比例，或概率阈值</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="281"/>
        <source>Aligned stack folder (its deposits are counted; needed for mode 'capture')</source>
        <translation>对齐数据栈文件夹（统计其中的矿床；模式 'capture' 必需）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="282"/>
        <source>The stack the prediction was made on; its known deposits (stack.json) decide the cut in mode capture and are counted per target.</source>
        <translation>进行预测所用的数据栈；在 capture 模式下由其中的已知矿床（stack.json）确定阈值，并按靶区统计矿床数。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="284"/>
        <source>Smallest target (km2)</source>
        <translation>最小靶区面积（km2）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="285"/>
        <source>Smallest target in km2: at Kolari 8 of 31 targets were under 1 km2, their labels wider than them.</source>
        <translation>最小靶区面积（km2）：在 Kolari，31 个靶区中有 8 个小于 1 km2，其标注比靶区本身还宽。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="287"/>
        <source>Simplification tolerance (map units, 0: none)</source>
        <translation>简化容差（地图单位，0：不简化）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="287"/>
        <source>simplification tolerance in map units</source>
        <translation>简化容差（地图单位）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="288"/>
        <source>A GeoPackage (.gpkg).</source>
        <translation>GeoPackage 文件（.gpkg）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="311"/>
        <source>Aligned stack folder (with geochemistry)</source>
        <translation>对齐数据栈文件夹（含地球化学数据）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="312"/>
        <source>aligned stack folder with geochemistry</source>
        <translation>含地球化学数据的对齐数据栈文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="314"/>
        <source>Anomalies listed in the table</source>
        <translation>表中列出的异常数量</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="314"/>
        <source>rows in top_anomalies.csv</source>
        <translation>top_anomalies.csv 中的行数</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="315"/>
        <source>Anomaly folder</source>
        <translation>异常结果文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="320"/>
        <source>Prospectivity map</source>
        <translation>远景图</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="321"/>
        <source>prospectivity raster (e.g. prediction/prospectivity.tif, or another tool's map)</source>
        <translation>远景栅格（例如 prediction/prospectivity.tif，或其他工具生成的图）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="322"/>
        <location filename="../engine/operations.py" line="343"/>
        <location filename="../engine/operations.py" line="487"/>
        <source>Band</source>
        <translation>波段</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="323"/>
        <source>Any CRS; reprojected to the map's.</source>
        <translation>任意坐标系；将重投影到该图的坐标系。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="324"/>
        <source>Low values are prospective</source>
        <translation>低值为有利</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="325"/>
        <source>the map ranks low values as prospective</source>
        <translation>该图以低值表示有远景</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="326"/>
        <source>Validation folder</source>
        <translation>验证文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="341"/>
        <source>Magnetic or gravity grid</source>
        <translation>磁力或重力网格</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="342"/>
        <source>a potential-field grid in a projected CRS (pixels in metres), e.g. reduced-to-pole magnetics</source>
        <translation>投影坐标系（像元以米为单位）下的位场网格，例如化极磁力数据</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="344"/>
        <source>Derivative</source>
        <translation>导数</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="345"/>
        <source>all (one band each), or one of tilt, horizontal_gradient, vertical_derivative.</source>
        <translation>all（全部，每种一个波段），或 tilt、horizontal_gradient、vertical_derivative 之一。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="346"/>
        <source>Derivatives</source>
        <translation>导数</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="346"/>
        <source>A GeoTIFF (.tif), one band per derivative.</source>
        <translation>一个 GeoTIFF（.tif），每种导数一个波段。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="361"/>
        <source>Embedding</source>
        <translation>嵌入</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="361"/>
        <location filename="../engine/operations.py" line="574"/>
        <source>A GeoTIFF (.tif).</source>
        <translation>GeoTIFF 文件（.tif）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="367"/>
        <source>Aligned stacks (folders, or their stack.tif)</source>
        <translation>对齐数据栈（文件夹，或其中的 stack.tif）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="368"/>
        <source>Folders written by Align evidence stack, or a file inside each (stack.tif). qgis_process: repeat --STACKS=/data/a/stack --STACKS=/data/b/stack (or join with ';'). Empty: synthetic scenes only.</source>
        <translation>由“对齐证据数据栈”生成的文件夹，或各文件夹中的一个文件（stack.tif）。qgis_process：重复使用 --STACKS=/data/a/stack --STACKS=/data/b/stack（或用 ';' 连接）。留空：仅使用合成场景。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="370"/>
        <source>Synthetic scenes to add</source>
        <translation>添加的合成场景数</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="370"/>
        <source>number of seeded synthetic scenes to add</source>
        <translation>添加的带随机种子的合成场景数</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="372"/>
        <source>Start from foundation model (empty: random weights)</source>
        <translation>起始基础模型（留空：随机权重）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="373"/>
        <source>Adapt a pretrained model (the shipped one, or one you pretrained) to these data instead of training from scratch: far fewer steps are needed. Its architecture is kept; sources it lacks start fresh, its sources without data here are kept unchanged. A model folder or its model_card.json.</source>
        <translation>使预训练模型（随插件提供的或您自己预训练的）适应这些数据，而不是从头训练：所需步数少得多。保留其架构；它缺少的数据源从头开始，此处没有数据的数据源保持不变。模型文件夹或其 model_card.json。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="377"/>
        <source>Stage 1 steps (each source alone)</source>
        <translation>第 1 阶段步数（各数据源单独训练）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="378"/>
        <source>Stage 2 steps (one source from the others)</source>
        <translation>第 2 阶段步数（由其他数据源重建某一数据源）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="379"/>
        <source>Batch size</source>
        <translation>批大小</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="381"/>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="382"/>
        <source>Values: auto, cpu, cuda (auto: cuda when a GPU is available, else cpu).</source>
        <translation>可选值：auto、cpu、cuda（auto：有 GPU 时使用 cuda，否则使用 cpu）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="383"/>
        <source>Also export the encoders to ONNX (CPU inference)</source>
        <translation>同时将编码器导出为 ONNX（用于 CPU 推理）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="384"/>
        <source>Resume from a checkpoint in the output folder</source>
        <translation>从输出文件夹中的检查点继续训练</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="385"/>
        <source>Off (CLI: --no-resume): start afresh even if the output folder holds a checkpoint.</source>
        <translation>关（命令行：--no-resume）：即使输出文件夹中有检查点也从头开始。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="386"/>
        <source>Stack tile size per scene (pixels)</source>
        <translation>每个场景的数据栈分块大小（像元）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="387"/>
        <source>Tiles per stack (bounds memory)</source>
        <translation>每个数据栈的分块数（限制内存占用）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="388"/>
        <source>Synthetic scene size (pixels)</source>
        <translation>合成场景大小（像元）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="390"/>
        <source>Share of stage 1 batches masked per layer (0-1)</source>
        <translation>第一阶段按图层掩膜的批次比例（0-1）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="391"/>
        <source>0: every batch hides whole patches (all layers of a place). Above 0: that share of the batches hides each layer's patches on its own, so the encoder learns to rebuild a layer from the others at the same place. Empty: 0.5 as the shipped model was trained (0 for a model with an interpolation prior). Sources with one layer always use whole patches.</source>
        <translation>0：每个批次都遮盖整个图块（同一位置的所有图层）。大于 0：该比例的批次对每个图层单独遮盖图块，使编码器学会用同一位置的其他图层重建某一图层。留空：0.5，与随插件提供的模型训练时相同（带插值先验的模型为 0）。只有一个图层的数据源始终遮盖整个图块。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="396"/>
        <source>Encoder tokens</source>
        <translation>编码器词元</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="397"/>
        <source>layer: one token per layer and patch, pooled at the end (keeps each layer's detail; about 2-4x the compute on sources with 10-20 layers). patch: a patch's layers are pooled into one token first (the retired v1 design, cheaper). default: the engine's default, layer tokens as in the shipped model. A model to start from keeps its own architecture (then leave this at default).</source>
        <translation>layer：每个图层的每个图块一个词元，最后再汇聚（保留各图层的细节；在有 10-20 个图层的数据源上计算量约为 2-4 倍）。patch：先把一个图块的所有图层汇聚为一个词元（已停用的 v1 设计，更省算力）。default：引擎的默认值，即与随附模型相同的 layer 词元。从已有模型开始时保持其自身架构（此时请保留 default）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="406"/>
        <source>Area held out of pretraining (for evaluation)</source>
        <translation>不参与预训练的区域（留作评估）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="407"/>
        <source>Tiles touching this extent are never seen.</source>
        <translation>与此范围相交的分块不会参与训练。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="408"/>
        <source>Model folder</source>
        <translation>模型文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="408"/>
        <source>A new or empty folder, or one holding a checkpoint to resume.</source>
        <translation>一个新的或空的文件夹，或包含待续训检查点的文件夹。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="433"/>
        <source>Raster to trace structures on</source>
        <translation>用于勾绘构造的栅格</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="434"/>
        <source>raster to trace on (a magnetic or gravity grid, a DEM, an image)</source>
        <translation>用于追踪的栅格（磁法或重力网格、DEM、影像）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="435"/>
        <source>Bands (1 to 3)</source>
        <translation>波段（1 到 3 个）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="436"/>
        <source>One band for a grid (magnetics, gravity, DEM), up to three for an image.</source>
        <translation>网格（磁力、重力、DEM）取一个波段，影像最多取三个。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="437"/>
        <source>Prompt points</source>
        <translation>提示点</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="438"/>
        <source>points layer of prompts (GeoPackage, Shapefile, GeoJSON)</source>
        <translation>提示点图层（GeoPackage、Shapefile、GeoJSON）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="441"/>
        <source>Values: fault, lineament, contact, intrusion, alteration. Used for every group unless a type field is given.</source>
        <translation>取值：fault、lineament、contact、intrusion、alteration。除非给出类型字段，否则用于所有分组。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="443"/>
        <source>Group field (points of one feature)</source>
        <translation>分组字段（同一要素的点）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="444"/>
        <source>points sharing a value of this field make one feature (default: one per point)</source>
        <translation>该字段值相同的点构成一个要素（默认：每个点一个要素）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="445"/>
        <source>Label field (1 include, 0 exclude)</source>
        <translation>标签字段（1 包含，0 排除）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="446"/>
        <source>1 = include, 0 = exclude point (default: all include)</source>
        <translation>1 = 包含点，0 = 排除点（默认：全部为包含点）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="447"/>
        <source>Type field (overrides the feature type)</source>
        <translation>类型字段（覆盖要素类型）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="448"/>
        <source>feature type per group, overriding --type</source>
        <translation>每组的要素类型，优先于 --type</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="450"/>
        <source>Simplification tolerance (map units, 0: one view pixel for lines, none for bodies)</source>
        <translation>简化容差（地图单位；0：线状构造为视图的一个像元，面状体不简化）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="451"/>
        <source>simplification tolerance in map units (default: one pixel of the view for lines, none for bodies)</source>
        <translation>以地图单位表示的简化容差（默认：线状构造为视图的一个像元，面状体不简化）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="452"/>
        <source>Smallest structure kept (map units)</source>
        <translation>保留的最小构造（地图单位）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="453"/>
        <source>drop parts shorter (lines) or smaller (polygons) than this, in map units</source>
        <translation>丢弃短于（线）或小于（多边形）此值的部分，以地图单位计</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="454"/>
        <source>Snap intrusions and alteration to the image's edges</source>
        <translation>将侵入体和蚀变吸附到图像边缘</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="455"/>
        <source>The model finds the body, a watershed on the image's gradient seeded with the model's mask draws its boundary (on the held-out Kolari grids this traces the intrusions far better). Off: the model's own mask.</source>
        <translation>由模型找到地质体，再以模型掩膜为种子、在图像梯度上运行分水岭勾画其边界（在留出的 Kolari 网格上，这样勾画侵入体的效果好得多）。关闭：使用模型自身的掩膜。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="459"/>
        <source>View size around each group (raster pixels)</source>
        <translation>每组周围的视图大小（栅格像元）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="460"/>
        <source>view size around each group in raster pixels (default: 256)</source>
        <translation>每组周围的视图大小，以栅格像元计（默认：256）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="461"/>
        <source>SAM model (empty: the shipped GeoSAM)</source>
        <translation>SAM 模型（留空：随附的 GeoSAM）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="462"/>
        <source>A GeoSAM model folder or its model_card.json, or an official SAM checkpoint (sam_vit_b/l/h .pth, .safetensors) loaded without running code.</source>
        <translation>GeoSAM 模型文件夹或其 model_card.json，或官方 SAM 检查点（sam_vit_b/l/h .pth、.safetensors），加载时不执行任何代码。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="465"/>
        <source>A GeoPackage (.gpkg): layer structure_lines and / or structure_polygons.</source>
        <translation>GeoPackage（.gpkg）：图层 structure_lines 和/或 structure_polygons。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="485"/>
        <source>Evidence raster (integer classes)</source>
        <translation>证据栅格（整数类别）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="486"/>
        <source>Projected CRS in metres; nodata is outside the study area.</source>
        <translation>以米为单位的投影坐标系；无数据像元位于研究区之外。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="490"/>
        <source>Values: categorical, ascending (favourable when low), descending (favourable when high).</source>
        <translation>取值：categorical、ascending（数值低时有利）、descending（数值高时有利）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="494"/>
        <source>A class is used in the generalisation only when its studentised contrast reaches this (2: about 95 % confidence that the contrast is not zero).</source>
        <translation>只有学生化对比度达到此值的类别才用于概化（2：约 95 % 的置信度认为对比度不为零）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="497"/>
        <source>Pool the categorical classes below the threshold (ArcSDM)</source>
        <translation>合并低于阈值的分类类别（ArcSDM）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="498"/>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="145"/>
        <source>Weights table</source>
        <translation>权重表</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="498"/>
        <source>A .csv file.</source>
        <translation>一个 .csv 文件。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="499"/>
        <source>Generalised raster</source>
        <translation>概化栅格</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="500"/>
        <source>The evidence reclassified to GEN_CLASS (GeoTIFF).</source>
        <translation>按 GEN_CLASS 重分类的证据（GeoTIFF）。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="525"/>
        <source>Response folder</source>
        <translation>响应文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="526"/>
        <source>output folder (posterior.tif, posterior_std.tif, confidence.tif, conditions.csv, auc.csv, summary.json)</source>
        <translation>输出文件夹（posterior.tif、posterior_std.tif、confidence.tif、conditions.csv、auc.csv、summary.json）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="552"/>
        <source>Logistic regression folder</source>
        <translation>逻辑回归文件夹</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="553"/>
        <source>output folder (lr_posterior.tif, lr_posterior_std.tif, coefficients.csv, conditions.csv, auc.csv, summary.json)</source>
        <translation>输出文件夹（lr_posterior.tif、lr_posterior_std.tif、coefficients.csv、conditions.csv、auc.csv、summary.json）</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="570"/>
        <source>Operator</source>
        <translation>运算符</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="571"/>
        <source>Values: and, or, product, sum, gamma.</source>
        <translation>取值：and、or、product、sum、gamma。</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="572"/>
        <source>Gamma</source>
        <translation>Gamma 值</translation>
    </message>
    <message>
        <location filename="../engine/operations.py" line="573"/>
        <source>Only for the gamma operator: 0 is the product, 1 the sum.</source>
        <translation>仅用于 gamma 运算符：0 即乘积，1 即和。</translation>
    </message>
    <message>
        <location filename="../engine/core/runtime.py" line="78"/>
        <source>Inference backend</source>
        <translation>推理后端</translation>
    </message>
    <message>
        <location filename="../engine/core/runtime.py" line="79"/>
        <source>auto: torch on the GPU when CUDA is there, else ONNX Runtime on the CPU, else torch on the CPU. Values: auto, torch-cuda, torch-cpu, onnx-cpu.</source>
        <translation>auto：有 CUDA 时在 GPU 上使用 torch，否则在 CPU 上使用 ONNX Runtime，再否则在 CPU 上使用 torch。可选值：auto、torch-cuda、torch-cpu、onnx-cpu。</translation>
    </message>
    <message>
        <location filename="../engine/core/runtime.py" line="82"/>
        <source>CPU threads (0: the library's default)</source>
        <translation>CPU 线程数（0：使用库的默认值）</translation>
    </message>
    <message>
        <location filename="../engine/core/runtime.py" line="83"/>
        <source>CPU threads of the foundation encoders (torch and ONNX Runtime); 0 leaves the library's default (all cores).</source>
        <translation>基础模型编码器（torch 和 ONNX Runtime）的 CPU 线程数；0 表示使用库默认值（全部核心）。</translation>
    </message>
    <message>
        <location filename="../engine/core/runtime.py" line="85"/>
        <source>Tile size (pixels)</source>
        <translation>分块大小（像元）</translation>
    </message>
    <message>
        <location filename="../engine/core/runtime.py" line="86"/>
        <source>Bounds memory; the result does not depend on it.</source>
        <translation>用于限制内存占用；结果与其无关。</translation>
    </message>
    <message>
        <location filename="../engine/core/runtime.py" line="88"/>
        <source>Embedding cache folder (empty: MPM_CACHE_DIR, else ~/.cache/mpm-studio)</source>
        <translation>嵌入缓存文件夹（留空：MPM_CACHE_DIR，否则 ~/.cache/mpm-studio）</translation>
    </message>
    <message>
        <location filename="../engine/core/runtime.py" line="89"/>
        <source>Where the foundation embeddings of a stack are cached, so a second run reuses them. The files can be deleted at any time.</source>
        <translation>数据栈的基础模型嵌入缓存在此，第二次运行时直接复用。这些文件可随时删除。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="56"/>
        <source>The generalised rasters written by Calculate weights (or the original rasters), all on one grid.</source>
        <translation>“计算权重”写出的概化栅格（或原始栅格），均位于同一网格。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="59"/>
        <source>One weights table per evidence raster (qgis_process: repeat --TABLES=...): paired by file name when each raster has one table of its name (Dist2Breccia.tif and Dist2Breccia.csv, or X_generalised.tif and X_weights.csv), else in the order given. Each raster's classes are looked up in its table (CLASS -&gt; WEIGHT, W_STD).</source>
        <translation>每个证据栅格一个权重表（qgis_process：重复 --TABLES=...）：当每个栅格都有一个同名的权重表时按文件名配对（Dist2Breccia.tif 与 Dist2Breccia.csv，或 X_generalised.tif 与 X_weights.csv），否则按给出的顺序配对。每个栅格的类别在其权重表中查找（CLASS -&gt; WEIGHT、W_STD）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="258"/>
        <source>On one grid (Align evidence stack, or Raster &gt; Align Rasters).</source>
        <translation>位于同一网格（对齐证据数据栈，或 栅格 &gt; 对齐栅格）。</translation>
    </message>
    <message>
        <location filename="../mpm_plugin/algorithms/wofe.py" line="261"/>
        <source>One row per raster, same order. Functions: linear, small, large, gaussian.</source>
        <translation>每个栅格一行，顺序相同。函数：linear、small、large、gaussian。</translation>
    </message>
</context>
</TS>
