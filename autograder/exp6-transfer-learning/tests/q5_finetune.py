OK_FORMAT = True

test = {   'name': 'q5_finetune',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     optimizer = checks.get(ns, 'finetune_optimizer')\n"
                                               "...     return {'lrs': [float(group['lr']) for group in optimizer.param_groups]}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert len(data[\'lrs\']) >= 2, f"finetune_optimizer has {len(data[\'lrs\'])} parameter group(s); give the backbone and the head a group '
                                               'each"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import timm\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def block_sizes():\n'
                                               "...     cnn = timm.create_model('tf_efficientnet_lite0', pretrained=False)\n"
                                               '...     stem = sum((p.numel() for m in (cnn.conv_stem, cnn.bn1) for p in m.parameters()))\n'
                                               '...     return (stem, [sum((p.numel() for p in b.parameters())) for b in cnn.blocks])\n'
                                               '>>> def frozen_parts(cnn):\n'
                                               '...     """Frozen parameters of the stem and of each block."""\n'
                                               "...     return {'stem': sum((p.numel() for m in (cnn.conv_stem, cnn.bn1) for p in m.parameters() if not p.requires_grad)), 'blocks': [sum((p.numel() "
                                               'for p in b.parameters() if not p.requires_grad)) for b in cnn.blocks]}\n'
                                               '>>> def extract(ns):\n'
                                               "...     model = checks.get(ns, 'model')\n"
                                               "...     stated = int(checks.get(ns, 'FREEZE_BLOCKS'))\n"
                                               "...     probe = timm.create_model('tf_efficientnet_lite0', pretrained=False).requires_grad_(False)\n"
                                               "...     checks.get(ns, 'unfreeze_block')(probe, 3)\n"
                                               "...     frozen_by_b = timm.create_model('tf_efficientnet_lite0', pretrained=False)\n"
                                               "...     checks.get(ns, 'freeze_lower_blocks')(frozen_by_b, stated)\n"
                                               "...     return {'stated': stated, 'after_e': frozen_parts(model[0]), 'after_b': frozen_parts(frozen_by_b), 'probe_trainable': sum((p.numel() for p in "
                                               'probe.parameters() if p.requires_grad))}\n'
                                               '>>> def judge(data):\n'
                                               '...     stem, blocks = block_sizes()\n'
                                               '...     assert data[\'probe_trainable\'] == blocks[3], f"unfreeze_block(cnn, 3) made {data[\'probe_trainable\']:,} parameters trainable; blocks[3] '
                                               'holds {blocks[3]:,}: unfreeze exactly that block"\n'
                                               "...     k = data['stated']\n"
                                               "...     after_b, after_e = (data['after_b'], data['after_e'])\n"
                                               '...     assert after_e[\'blocks\'][k - 1] == 0, f"after step (e), blocks[{k - 1}] (the top frozen block, FREEZE_BLOCKS - 1) still has '
                                               '{after_e[\'blocks\'][k - 1]:,} frozen parameters: unfreeze it"\n'
                                               "...     changed = [i for i in range(len(blocks)) if i != k - 1 and after_e['blocks'][i] != after_b['blocks'][i]]\n"
                                               '...     assert not changed and after_e[\'stem\'] == after_b[\'stem\'], f"step (e) changed what is frozen in {(\'the stem\' if not changed else '
                                               'f\'blocks{changed}\')}: unfreeze only blocks[{k - 1}]"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def group_lrs(optimizer, model):\n'
                                               '...     backbone_ids = {id(p) for p in model[0].parameters()}\n'
                                               '...     head_ids = {id(p) for p in model[1].parameters()}\n'
                                               "...     lrs = {'backbone': [], 'head': []}\n"
                                               '...     for group in optimizer.param_groups:\n'
                                               "...         for p in group['params']:\n"
                                               "...             part = 'backbone' if id(p) in backbone_ids else 'head' if id(p) in head_ids else None\n"
                                               '...             if part and p.requires_grad:\n'
                                               "...                 lrs[part].append(float(group['lr']))\n"
                                               '...     return lrs\n'
                                               '>>> def extract(ns):\n'
                                               "...     optimizer = checks.get(ns, 'finetune_optimizer')\n"
                                               "...     model = checks.get(ns, 'model')\n"
                                               "...     part_lrs = group_lrs(checks.get(ns, 'finetune_optimizer'), model)\n"
                                               "...     probe = group_lrs(checks.get(ns, 'make_finetune_optimizer')(model, 2e-05, 0.003), model)\n"
                                               "...     trainable = {'backbone': sum((1 for p in model[0].parameters() if p.requires_grad)), 'head': sum((1 for p in model[1].parameters() if "
                                               'p.requires_grad))}\n'
                                               "...     return {'lrs': [float(group['lr']) for group in optimizer.param_groups], 'part_lrs': part_lrs, 'probe': probe, 'trainable': trainable}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert len(data[\'lrs\']) >= 2, f"finetune_optimizer has {len(data[\'lrs\'])} parameter group(s); give the backbone and the head a group '
                                               'each"\n'
                                               "...     lrs, probe, trainable = (data['part_lrs'], data['probe'], data['trainable'])\n"
                                               "...     for part in ('backbone', 'head'):\n"
                                               "...         assert len(lrs[part]) == trainable[part], f'finetune_optimizer updates {len(lrs[part])} of the {trainable[part]} trainable {part} tensors: "
                                               "give it all of them'\n"
                                               '...     assert max(lrs[\'backbone\']) < min(lrs[\'head\']), f"the backbone\'s learning rate ({max(lrs[\'backbone\'])}) must be lower than the head\'s '
                                               '({min(lrs[\'head\'])})"\n'
                                               '...     assert set(probe[\'backbone\']) == {2e-05} and set(probe[\'head\']) == {0.003}, "make_finetune_optimizer(model, backbone_lr, head_lr) must '
                                               'give the backbone\'s parameters backbone_lr and the head\'s head_lr"\n'
                                               "...     return {'backbone lr': max(lrs['backbone']), 'head lr': min(lrs['head'])}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
