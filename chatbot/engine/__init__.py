"""The chat assistant's engine: intent classification, entities, grouping of questions. No Django, ever.

    from chatbot.engine import IntentClassifier, CatalogIndex, CatalogItem
    clf = IntentClassifier.fit(texts, intents)            # validation split, threshold, refit on everything
    clf.predict(["how much is the harbor lamp"])          # [Prediction(intent, confidence, best_intent, ...)]
    CatalogIndex(items).extract("red mugs under 20")      # products, categories, attributes, price range, ...

Command line: ``python -m chatbot.engine fit|predict`` (see README.md beside this file).
"""
from .config import Config
from .entities import CatalogIndex, CatalogItem, Entities, ProductMatch
from .errors import ArtifactError, ChatEngineError, ChatInputError
from .grouping import Group, group_texts
from .intents import OUT_OF_SCOPE, IntentClassifier, Prediction

__all__ = ["ArtifactError", "CatalogIndex", "CatalogItem", "ChatEngineError", "ChatInputError", "Config", "Entities",
           "Group", "IntentClassifier", "OUT_OF_SCOPE", "Prediction", "ProductMatch", "group_texts"]
