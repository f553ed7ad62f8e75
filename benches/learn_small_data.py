"""Post 10's sweet spot: SKMClassifier() with defaults against a grid-searched RBF SVM on
scikit-learn's small tables (issue #27, acceptance 3).

    python benches/learn_small_data.py

The same 5 stratified folds (shuffled, random_state=0) for every model. The SVM gets
GridSearchCV over C in {0.1, 1, 10, 100, 1000} and gamma in {'scale', 1e-4, ..., 1}
(inner 5-fold), both on the raw features and after a StandardScaler; SKMClassifier
gets no search and no scaler (it standardises inside). Prints mean accuracy, its
spread over the folds, and the wall time of the whole cross-validation. Needs the
package and scikit-learn (scripts/test's venv).
"""

import time

from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import eigentechno as et

GAMMA = ["scale", 1e-4, 1e-3, 1e-2, 1e-1, 1]
C = [0.1, 1, 10, 100, 1000]


def models():
    yield "SKMClassifier()", et.SKMClassifier()
    yield "GridSearchCV(SVC)", GridSearchCV(SVC(kernel="rbf"), {"C": C, "gamma": GAMMA}, cv=5)
    yield "GridSearchCV(scaler+SVC)", GridSearchCV(
        make_pipeline(StandardScaler(), SVC(kernel="rbf")), {"svc__C": C, "svc__gamma": GAMMA}, cv=5
    )


def main() -> None:
    print(f"{'data':14s} {'model':26s} {'accuracy':>16s} {'seconds':>8s}")
    for name, load in [("iris", load_iris), ("wine", load_wine), ("breast_cancer", load_breast_cancer),
                       ("digits", load_digits)]:
        X, y = load(return_X_y=True)
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        for label, model in models():
            t = time.perf_counter()
            s = cross_val_score(model, X, y, cv=folds)
            print(f"{name:14s} {label:26s} {s.mean():8.4f} +- {s.std():.4f} {time.perf_counter() - t:8.1f}", flush=True)


if __name__ == "__main__":
    main()
