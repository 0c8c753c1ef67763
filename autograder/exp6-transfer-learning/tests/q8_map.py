OK_FORMAT = True

test = {   'name': 'q8_map',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'map50': float(checks.get(ns, 'map50')), 'loss': [float(v) for v in checks.get(ns, 'history_det', dict).get('loss', [])]}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 0.0 <= data['map50'] <= 1.0, 'map50 should be a mean average precision, between 0 and 1'\n"
                                               '...     assert data[\'loss\'], "record each epoch\'s mean loss in history_det[\'loss\']"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> import torch\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.data.detection import digit_canvases, to_rgb_tensor\n'
                                               '>>> from dlkit.experiments import threshold as grading_threshold\n'
                                               '>>> HELD_OUT_SEED, HELD_OUT_N = (61414447, 150)\n'
                                               '>>> def extract(ns):\n'
                                               "...     detector = checks.get(ns, 'detector')\n"
                                               "...     canvases = digit_canvases(HELD_OUT_N, seed=HELD_OUT_SEED, split='test', size=96)\n"
                                               '...     x = to_rgb_tensor(canvases.images)\n'
                                               '...     detector.eval()\n'
                                               '...     with torch.no_grad():\n'
                                               '...         predictions = [p for i in range(0, len(x), 25) for p in detector(list(x[i:i + 25]))]\n'
                                               "...     image = np.concatenate([np.full(len(p['scores']), i) for i, p in enumerate(predictions)]).astype('int64')\n"
                                               "...     return {'seed': HELD_OUT_SEED, 'n': HELD_OUT_N, 'image': image, 'boxes': torch.cat([p['boxes'] for p in predictions]).reshape(-1, 4), "
                                               "'scores': torch.cat([p['scores'] for p in predictions]), 'labels': torch.cat([p['labels'] for p in predictions]).long()}\n"
                                               '>>> def judge(data):\n'
                                               '...     from torchmetrics.detection import MeanAveragePrecision\n'
                                               '...     assert (data[\'seed\'], data[\'n\']) == (HELD_OUT_SEED, HELD_OUT_N), "the held-out canvases were not the grader\'s"\n'
                                               "...     truth = digit_canvases(HELD_OUT_N, seed=HELD_OUT_SEED, split='test', size=96)\n"
                                               "...     image = data['image']\n"
                                               '...     assert len(image) == len(data[\'boxes\']) == len(data[\'scores\']) == len(data[\'labels\']), "the detector\'s outputs do not line up"\n'
                                               "...     predictions = [{'boxes': torch.from_numpy(data['boxes'][image == i]).float(), 'scores': torch.from_numpy(data['scores'][image == i]).float(), "
                                               "'labels': torch.from_numpy(data['labels'][image == i]).long()} for i in range(HELD_OUT_N)]\n"
                                               "...     targets = [{'boxes': torch.from_numpy(truth.boxes[i]), 'labels': torch.from_numpy(truth.labels[i] + 1)} for i in range(HELD_OUT_N)]\n"
                                               '...     metric = MeanAveragePrecision(iou_thresholds=[0.5])\n'
                                               '...     metric.update(predictions, targets)\n'
                                               "...     map50 = float(metric.compute()['map_50'])\n"
                                               "...     least = grading_threshold('exp6-transfer-learning', 'map50')\n"
                                               '...     assert map50 >= least, f"mAP@0.5 on the grader\'s held-out canvases: {map50:.4f}; it must reach {least}"\n'
                                               "...     return {'mAP@0.5 (grader)': map50}\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 4}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
