OK_FORMAT = True

test = {   'name': 'q7_detector',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     predictor = checks.get(ns, 'detector').roi_heads.box_predictor\n"
                                               "...     return {'classes': int(predictor.cls_score.out_features)}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'classes\'] == 11, f"the box predictor scores {data[\'classes\']} classes; the task has 11 (background + 10 digits)"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     predictor = checks.get(ns, 'detector').roi_heads.box_predictor\n"
                                               "...     return {'type': type(predictor).__name__, 'classes': int(predictor.cls_score.out_features), 'box_outputs': "
                                               "int(predictor.bbox_pred.out_features), 'trainable': all((p.requires_grad for p in predictor.parameters())), 'built': int(checks.get(ns, "
                                               "'build_detector')(5).roi_heads.box_predictor.cls_score.out_features)}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'classes\'] == 11, f"the box predictor scores {data[\'classes\']} classes; the task has 11 (background + 10 digits)"\n'
                                               '...     assert data[\'type\'] == \'FastRCNNPredictor\', f"use a new FastRCNNPredictor as the box predictor, not {data[\'type\']}"\n'
                                               '...     assert (data[\'classes\'], data[\'box_outputs\']) == (11, 44), f"the box predictor gives {data[\'classes\']} scores and '
                                               '{data[\'box_outputs\']} box values; 11 classes need 11 and 44"\n'
                                               "...     assert data['trainable'], 'the new box predictor must be trainable'\n"
                                               "...     assert data['built'] == 5, 'build_detector(num_classes) must give a predictor for num_classes classes'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1},
                                   {   'code': '>>> import timm\n'
                                               '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.data import load_pretrained_cnn\n'
                                               '>>> def reference_freeze(cnn, n_blocks):\n'
                                               '...     for module in (cnn.conv_stem, cnn.bn1, *cnn.blocks[:n_blocks]):\n'
                                               '...         module.requires_grad_(False)\n'
                                               '>>> def extract(ns):\n'
                                               "...     build = checks.get(ns, 'build_detector')\n"
                                               "...     names = getattr(build, '__globals__', ns)\n"
                                               "...     own_freeze = names.get('freeze_lower_blocks')\n"
                                               "...     names['freeze_lower_blocks'] = reference_freeze\n"
                                               '...     try:\n'
                                               "...         backbone = checks.call(build, '11 (with the reference freeze_lower_blocks)', 11).backbone\n"
                                               '...     finally:\n'
                                               "...         names['freeze_lower_blocks'] = own_freeze\n"
                                               '...     first_conv = next((m for m in backbone.modules() if isinstance(m, torch.nn.Conv2d)))\n'
                                               "...     return {'blocks': int(checks.get(ns, 'DET_BLOCKS')), 'freeze': int(checks.get(ns, 'DET_FREEZE_BLOCKS')), 'frozen': sum((p.numel() for p in "
                                               "backbone.parameters() if not p.requires_grad)), 'trainable': sum((p.numel() for p in backbone.parameters() if p.requires_grad)), 'first_conv': "
                                               'first_conv.weight}\n'
                                               '>>> def size(modules):\n'
                                               '...     return sum((p.numel() for m in modules for p in m.parameters()))\n'
                                               '>>> def judge(data):\n'
                                               "...     cnn = timm.create_model('tf_efficientnet_lite0', pretrained=False)\n"
                                               "...     k, n = (data['freeze'], data['blocks'])\n"
                                               "...     assert 1 <= k < n <= 7, f'DET_FREEZE_BLOCKS = {k} and DET_BLOCKS = {n}: freeze some, but not all, of the blocks the detector uses'\n"
                                               '...     frozen = size([cnn.conv_stem, cnn.bn1, *cnn.blocks[:k]])\n'
                                               '...     trainable = size(cnn.blocks[k:n])\n'
                                               '...     assert data[\'frozen\'] == frozen, f"build_detector(11)\'s backbone has {data[\'frozen\']:,} frozen parameters; the stem and blocks[0..{k - '
                                               '1}] hold {frozen:,}: freeze exactly those (with freeze_lower_blocks(cnn, DET_FREEZE_BLOCKS))"\n'
                                               '...     assert data[\'trainable\'] == trainable, f"build_detector(11)\'s backbone has {data[\'trainable\']:,} trainable parameters; blocks[{k}..{n - '
                                               '1}] hold {trainable:,}"\n'
                                               "...     stem = load_pretrained_cnn('efficientnet-lite0').conv_stem.weight.detach().numpy()\n"
                                               '...     assert data[\'first_conv\'].shape == stem.shape and (data[\'first_conv\'] == stem).all(), "the detector\'s backbone must start with the '
                                               'pretrained (and frozen) EfficientNet-Lite0 stem"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
