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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
