OK_FORMAT = True

test = {   'name': 'q4_metrics',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     report = checks.get(ns, 'report', dict)\n"
                                               "...     missing = [k for k in ('y_pred', 'accuracy', 'precision', 'recall', 'f1', 'confusion') if k not in report]\n"
                                               "...     assert not missing, f'`report` lacks {missing}'\n"
                                               "...     return {'metrics': [float(report[k]) for k in ('accuracy', 'precision', 'recall', 'f1')], 'confusion': np.asarray(report['confusion']), "
                                               "'tested': len(checks.get(ns, 'y_test'))}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert all((0.0 <= m <= 1.0 for m in data[\'metrics\'])), f"accuracy, precision, recall and F1 lie in [0, 1], got {data[\'metrics\']}"\n'
                                               "...     confusion = data['confusion']\n"
                                               "...     assert confusion.ndim == 2 and confusion.shape[0] == confusion.shape[1], f'the confusion matrix should be square, has shape "
                                               "{confusion.shape}'\n"
                                               '...     assert int(confusion.sum()) == data[\'tested\'], f"the confusion matrix counts {int(confusion.sum())} images; it should count every test image '
                                               '({data[\'tested\']})"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import contextlib\n'
                                               '>>> import io\n'
                                               '>>> import keras\n'
                                               '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support\n'
                                               '>>> def small_case(classes=3, absent=None):\n'
                                               '...     y_true = np.array([0] * 10 + [1] * 6 + [2] * 4)\n'
                                               '...     y_pred = np.array([0] * 8 + [1, 2] + [1] * 3 + [0] * 2 + [2] + [2] * 3 + [1])\n'
                                               '...     if absent is not None:\n'
                                               '...         y_true, y_pred = (np.where(y_true >= absent, y_true + 1, y_true), np.where(y_pred >= absent, y_pred + 1, y_pred))\n'
                                               "...     x = np.zeros((len(y_true), 4, 4, 1), dtype='float32')\n"
                                               '...     x[np.arange(len(y_true)), 0, y_pred, 0] = 1.0\n'
                                               '...     return (x, y_true, y_pred)\n'
                                               '>>> def reading_model(classes=3):\n'
                                               "...     model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(classes, activation='softmax')])\n"
                                               "...     kernel = np.zeros((16, classes), dtype='float32')\n"
                                               '...     kernel[np.arange(classes), np.arange(classes)] = 10.0\n'
                                               "...     model.layers[-1].set_weights([kernel, np.zeros(classes, dtype='float32')])\n"
                                               '...     return model\n'
                                               '>>> def reported(report):\n'
                                               "...     return {'y_pred': np.asarray(report['y_pred']).astype(int), 'confusion': np.asarray(report['confusion']), 'metrics': [float(report[k]) for k "
                                               "in ('accuracy', 'precision', 'recall', 'f1')]}\n"
                                               '>>> def extract(ns):\n'
                                               "...     report = checks.get(ns, 'report', dict)\n"
                                               "...     missing = [k for k in ('y_pred', 'accuracy', 'precision', 'recall', 'f1', 'confusion') if k not in report]\n"
                                               "...     assert not missing, f'`report` lacks {missing}'\n"
                                               "...     stage = checks.get(ns, 'estimate_performance')\n"
                                               '...     x, y_true, _ = small_case()\n'
                                               '...     x_gap, y_gap, _ = small_case(4, absent=2)\n'
                                               '...     with contextlib.redirect_stdout(io.StringIO()):\n'
                                               "...         small = reported(checks.call(stage, 'a 3-class model, 20 images, their labels', reading_model(), x, y_true))\n"
                                               "...         gap = reported(checks.call(stage, 'a 4-class model, 20 images whose labels and predictions never include class 2', reading_model(4), "
                                               'x_gap, y_gap))\n'
                                               "...     real = reported(checks.get(ns, 'report', dict))\n"
                                               "...     out = {f'small_{k}': v for k, v in small.items()}\n"
                                               "...     out.update({f'gap_{k}': v for k, v in gap.items()})\n"
                                               "...     out.update({f'real_{k}': v for k, v in real.items()})\n"
                                               "...     out.update({'model': checks.get(ns, 'model', keras.Model), 'dataset': str(checks.get(ns, 'DATASET'))})\n"
                                               "...     out.update({'metrics': [float(report[k]) for k in ('accuracy', 'precision', 'recall', 'f1')], 'confusion': np.asarray(report['confusion']), "
                                               "'tested': len(checks.get(ns, 'y_test'))})\n"
                                               '...     return out\n'
                                               '>>> def agree(prefix, data, y_true, classes):\n'
                                               "...     y_pred = data[f'{prefix}_y_pred']\n"
                                               "...     present = precision_recall_fscore_support(y_true, y_pred, average='macro', zero_division=0)[:3]\n"
                                               "...     every = precision_recall_fscore_support(y_true, y_pred, average='macro', zero_division=0, labels=np.arange(classes))[:3]\n"
                                               '...     accuracy = accuracy_score(y_true, y_pred)\n'
                                               "...     for name, got, want, also in zip(('accuracy', 'precision', 'recall', 'F1'), data[f'{prefix}_metrics'], (accuracy, *present), (accuracy, "
                                               '*every)):\n'
                                               "...         assert min(abs(got - want), abs(got - also)) <= 1e-06, f'{name} is {got:.6f}, but scikit-learn gives {want:.6f} on your own predictions "
                                               "(macro average over classes)'\n"
                                               '...     confusion = confusion_matrix(y_true, y_pred, labels=np.arange(classes))\n'
                                               "...     got = data[f'{prefix}_confusion']\n"
                                               "...     assert got.shape == confusion.shape, f'the confusion matrix has shape {got.shape}; a model with {classes} classes needs {confusion.shape}: one "
                                               "row and column for every class the model can output, even one that never occurs (confusion_matrix(..., labels=...))'\n"
                                               "...     assert (got == confusion).all(), 'the confusion matrix does not match your predictions (rows = true class, columns = predicted class)'\n"
                                               '>>> def judge(data):\n'
                                               '...     assert all((0.0 <= m <= 1.0 for m in data[\'metrics\'])), f"accuracy, precision, recall and F1 lie in [0, 1], got {data[\'metrics\']}"\n'
                                               "...     confusion = data['confusion']\n"
                                               "...     assert confusion.ndim == 2 and confusion.shape[0] == confusion.shape[1], f'the confusion matrix should be square, has shape "
                                               "{confusion.shape}'\n"
                                               '...     assert int(confusion.sum()) == data[\'tested\'], f"the confusion matrix counts {int(confusion.sum())} images; it should count every test image '
                                               '({data[\'tested\']})"\n'
                                               '...     x, y_true, y_pred = small_case()\n'
                                               "...     assert data['small_y_pred'].shape == y_pred.shape and (data['small_y_pred'] == y_pred).all(), 'y_pred should be the class with the highest "
                                               "predicted probability, for every image'\n"
                                               "...     agree('small', data, y_true, 3)\n"
                                               "...     agree('gap', data, small_case(4, absent=2)[1], 4)\n"
                                               "...     x_test, y_test = checks.image_set_test_inputs(data['dataset'])\n"
                                               '...     assert data[\'real_y_pred\'].shape == y_test.shape, f"report[\'y_pred\'] has {data[\'real_y_pred\'].shape[0]} predictions; the test set has '
                                               '{len(y_test)} images"\n'
                                               "...     mine = checks.predict(data['model'], x_test).argmax(axis=1)\n"
                                               "...     same = float((mine == data['real_y_pred']).mean())\n"
                                               "...     least = threshold('exp3-image-classifier', 'prediction_agreement')\n"
                                               '...     assert same >= least, f"report[\'y_pred\'] agrees with the grader\'s predictions of `model` on only {same:.1%} of the test images; it must '
                                               'agree on {least:.1%}"\n'
                                               "...     agree('real', data, y_test, data['model'].output_shape[-1])\n"
                                               '...     return {"macro F1 (student\'s predictions)": data[\'real_metrics\'][3]}\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
