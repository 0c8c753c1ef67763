OK_FORMAT = True

test = {   'name': 'q2_freeze',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import timm\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     cnn = timm.create_model('tf_efficientnet_lite0', pretrained=False)\n"
                                               "...     checks.get(ns, 'freeze_lower_blocks')(cnn, 1)\n"
                                               "...     return {'stem_frozen': not any((p.requires_grad for p in cnn.conv_stem.parameters())), 'frozen': sum((p.numel() for p in cnn.parameters() if "
                                               'not p.requires_grad))}\n'
                                               '>>> def judge(data):\n'
                                               "...     assert data['frozen'] > 0, 'freeze_lower_blocks(cnn, 1) froze nothing: set requires_grad = False on the parameters'\n"
                                               "...     assert data['stem_frozen'], 'freeze the stem (conv_stem) too'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import timm\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def frozen_counts(cnn):\n'
                                               '...     layers = [m for m in cnn.modules() if not list(m.children()) and list(m.parameters())]\n'
                                               "...     return {'parameters': sum((p.numel() for p in cnn.parameters() if not p.requires_grad)), 'layers': sum((1 for m in layers if not "
                                               "any((p.requires_grad for p in m.parameters())))), 'partly': sum((1 for m in layers if len({p.requires_grad for p in m.parameters()}) > 1))}\n"
                                               '>>> def expected_counts(n_blocks):\n'
                                               "...     cnn = timm.create_model('tf_efficientnet_lite0', pretrained=False)\n"
                                               '...     for module in (cnn.conv_stem, cnn.bn1, *cnn.blocks[:n_blocks]):\n'
                                               '...         module.requires_grad_(False)\n'
                                               '...     return frozen_counts(cnn)\n'
                                               '>>> def extract(ns):\n'
                                               "...     cnn = timm.create_model('tf_efficientnet_lite0', pretrained=False)\n"
                                               "...     checks.get(ns, 'freeze_lower_blocks')(cnn, 1)\n"
                                               "...     freeze = checks.get(ns, 'freeze_lower_blocks')\n"
                                               "...     stated = int(checks.get(ns, 'FREEZE_BLOCKS'))\n"
                                               "...     out = {'stated': stated, 'stem_frozen': not any((p.requires_grad for p in cnn.conv_stem.parameters())), 'frozen': sum((p.numel() for p in "
                                               'cnn.parameters() if not p.requires_grad))}\n'
                                               '...     for n in sorted({stated, 2, 6}):\n'
                                               "...         cnn = timm.create_model('tf_efficientnet_lite0', pretrained=False)\n"
                                               '...         freeze(cnn, n)\n'
                                               "...         out[f'counts_{n}'] = frozen_counts(cnn)\n"
                                               '...     return out\n'
                                               '>>> def judge(data):\n'
                                               "...     assert data['frozen'] > 0, 'freeze_lower_blocks(cnn, 1) froze nothing: set requires_grad = False on the parameters'\n"
                                               "...     assert data['stem_frozen'], 'freeze the stem (conv_stem) too'\n"
                                               "...     stated = data['stated']\n"
                                               "...     assert 1 <= stated <= 6, f'FREEZE_BLOCKS is {stated}: freeze between 1 and 6 blocks, so that a frozen block is left for step (e)'\n"
                                               '...     for n in sorted({stated, 2, 6}):\n'
                                               "...         got, want = (data[f'counts_{n}'], expected_counts(n))\n"
                                               '...         assert got == want, f"after freeze_lower_blocks(cnn, {n}): {got[\'parameters\']:,} frozen parameters in {got[\'layers\']} frozen layers; '
                                               'the stem and blocks[0..{n - 1}] hold {want[\'parameters\']:,} parameters in {want[\'layers\']} layers: freeze exactly those"\n'
                                               "...     return {'frozen parameters (b)': data[f'counts_{stated}']['parameters']}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 3}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
