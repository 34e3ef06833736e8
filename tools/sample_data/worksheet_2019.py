"""Write the invented group worksheet of the 2019 sample (data/raw/sample_2019_worksheet.xlsx).

Every answer below was written for this project; no group, person or event is real.
Run: .venv/bin/python tools/sample_data/worksheet_2019.py
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from kyodo_analysis.export import save_workbook

OUT = Path(__file__).resolve().parents[2] / "data" / "raw" / "sample_2019_worksheet.xlsx"
HEADER = ["グループ", "市民 人数", "職員 人数", "思う 人数", "どちらとも言えない 人数", "思わない 人数",
          "問1 「協働したい」と思いますか？（理由）", "問2 よりよい協働のために、協働の相手先に求めるものは何ですか？",
          "問3 よりよい協働のために、自分たちができることは何ですか？"]
# group, citizens, staff, yes, undecided, no, reasons, ask, offer
GROUPS = [
    (1, 3, 2, 4, 1, 0, "・一緒にやれば地域の困りごとに早く手が届く\n・一人では続かない",
     "・決まる前の段階から声をかけてほしい\n・担当者が替わっても話が引き継がれること",
     "・活動の様子を写真付きで発信する\n・会議の日程は早めに伝える"),
    (2, 2, 2, 3, 1, 0, "思う。お互いの得意なことを持ち寄れるから。",
     "①上から目線でなく同じ目線で話すこと\n②予算の制約を正直に教えてほしい",
     "①行政の手続きの流れを学ぶ\n②できないことはできないと早めに言う"),
    (3, 3, 1, 2, 2, 0, "● 協働の意味は分かったが、負担が増えないか心配\n● 相手次第",
     "● 相手の団体が大切にしていることを聞く姿勢\n● 役割をはっきりさせる",
     "● 自分たちの強みを言葉にしておく\n● 小さな成功を一緒に喜ぶ"),
    ("4班", 2, 3, 5, 0, 0, "課題が複雑になり、市だけでは解決できない",
     "1. 目指す姿を最初にすり合わせる\n2. 定期的にふりかえりの場をもつ",
     "1. 庁内の関係課をつなぐ\n2. 相談しやすい窓口を示す"),
    (5, 3, 1, 3, 0, 1, "・地域のことは地域の人が一番よく知っている",
     "・対等なパートナーとして扱ってほしい\n・「お願い」ばかりで終わらないこと",
     "・自分たちの活動の目的をはっきりさせる\n・会計を公開する"),
    (6, 2, 2, 2, 1, 1, "どちらとも言えない人は、時間の余裕がないという意見",
     "顔を合わせて話す機会を増やす\n約束したことを守ってくれること",
     "相手の忙しい時期を知っておく\n会議の記録を共有する"),
    (7, 3, 2, 4, 1, 0, "・職員も市民も同じ市に住む仲間だから",
     "・情報をできるだけ早く出してほしい\n・専門用語を使わず説明してほしい",
     "・団体の事情を率直に伝える\n・研修や勉強会に参加する"),
    (8, 2, 2, 4, 0, 0, "②の意見が多かった。①協働で新しい発想が生まれる②人手不足を補い合える",
     "①信頼して任せてほしい②成果だけでなく過程も見てほしい",
     "①自分たちで決めたことに責任をもつ②人材を育てる"),
    (9, 3, 1, 2, 1, 1, "・行政の仕組みがよく分からず、まだ判断できない",
     "・手続きの書類を簡単にしてほしい\n・補助金が終わった後のことも一緒に考えてほしい",
     "・資金を自分たちでも集める工夫をする\n・ほかの団体とつながる"),
    (10, 2, 3, 5, 0, 0, "思う。話してみると目指していることは同じだった",
     "・互いの立場の違いを認め合うこと\n・本音で話せる関係",
     "・地域の声を集めて届ける\n・できることから少しずつ始める"),
    (11, 3, 2, 3, 2, 0, "・協働したいが、どこに相談すればよいか分からない",
     "・窓口を一本化してほしい\n・活動を知ってもらう場をつくってほしい",
     "・ホームページやSNSで活動を知らせる\n・市の会議にも顔を出す"),
    (12, 2, 2, 3, 1, 0, "●地域の担い手が減っており、協働でしか続けられない",
     "●決める前に相談してほしい\n●お互いの責任の範囲をはっきりさせる",
     "●自分たちの考えをまとめてから話し合いに臨む\n●終わった後にふりかえる"),
]


def main() -> None:
    """Write the worksheet (save_workbook fixes the timestamps, so every run gives the same bytes)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "グループワーク"
    sheet.append(["令和元年度 協働のまちづくりワークショップ グループワーク記録（サンプル・架空のデータ）"])
    sheet.append(["開催日", dt.date(2019, 11, 16)])
    sheet.append(HEADER)
    for row in GROUPS:
        sheet.append(list(row))
    for cells in sheet.iter_rows(min_row=4):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEFGHI", (8, 8, 8, 8, 12, 10, 36, 40, 40)):
        sheet.column_dimensions[column].width = width
    save_workbook(book, OUT)


if __name__ == "__main__":
    main()
