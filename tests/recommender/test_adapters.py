import gzip

import pandas as pd

from recommender.engine import adapters
from recommender.engine.data import validate_interactions, validate_items


def test_online_retail_drops_cancellations_fees_and_anonymous(tmp_path):
    p = tmp_path / "or.csv.gz"
    rows = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536366,POST,POSTAGE,1,2010-12-01 08:28:00,18.0,17850.0,United Kingdom
C536379,71053,WHITE METAL LANTERN,-1,2010-12-01 09:41:00,3.39,14527.0,United Kingdom
536380,71053,WHITE METAL LANTERN,2,2010-12-01 09:45:00,3.39,,United Kingdom
536381,22086,PAPER CHAIN KIT 50'S CHRISTMAS,4,2010-12-01 09:50:00,2.95,13047.0,United Kingdom
"""
    with gzip.open(p, "wt") as fh:
        fh.write(rows)
    inter, items = adapters.online_retail(p)
    inter, items = validate_interactions(inter), validate_items(items)
    assert inter["item_id"].tolist() == ["85123A", "71053", "22086"]
    assert set(inter["user_id"]) == {"17850", "13047"}
    assert (inter["event"] == "purchase").all()
    assert set(items["item_id"]) == {"85123A", "71053", "22086"}
    assert items.set_index("item_id").loc["71053", "category"] == "LANTERN"


def test_taobao_maps_behaviours(tmp_path):
    p = tmp_path / "tb.csv"
    p.write_text("1,10,100,pv,1511658000\n1,10,100,cart,1511658001\n2,11,101,fav,1511658002\n2,11,101,buy,1511658003\n")
    inter, items = adapters.taobao(p)
    inter = validate_interactions(inter)
    assert inter["event"].tolist() == ["view", "cart", "cart", "purchase"]
    assert validate_items(items).set_index("item_id").loc["11", "category"] == "101"


def test_diginetica_sessions_are_users(tmp_path):
    p = tmp_path / "dg.csv"
    p.write_text("session_id;user_id;item_id;timeframe;eventdate\n1;NA;81766;526309;2016-05-09\n"
                 "1;NA;31331;1031018;2016-05-09\n2;NA;32118;243569;2016-05-10\n")
    inter, items = adapters.diginetica(p)
    inter = validate_interactions(inter)
    assert inter["user_id"].tolist() == ["session:1", "session:1", "session:2"]
    assert (inter["event"] == "view").all()
    assert pd.Timestamp("2016-05-09") < inter["timestamp"].iloc[0] < pd.Timestamp("2016-05-10")
