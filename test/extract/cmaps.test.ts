/**
 * CJK PDFs whose CID fonts have no ToUnicode: pdf.js maps their CIDs to Unicode through Adobe's
 * standard CMaps, which are bundled as Data modules and loaded on demand (src/ingest/extract/cmaps).
 * What still cannot be extracted is listed with its reason in docs/performance.md ("CJK extraction").
 */
import { describe, expect, it } from "vitest";
import { extract } from "../../src/ingest/extract";
import { CMAPS } from "../../src/ingest/extract/cmaps";
import { available, bytesOf, SKIP_MESSAGE, squash } from "../corpus";

const text = async (file: string) => (await extract(await bytesOf(file), { name: file.split("/").pop() as string })).text;

describe("bundled CMaps", () => {
  it("ships every standard CMap of the pdf.js version unpdf bundles, loadable on demand", async () => {
    expect(Object.keys(CMAPS).length).toBe(168);
    for (const name of ["Adobe-Japan1-UCS2", "Adobe-GB1-UCS2", "Adobe-CNS1-UCS2", "Adobe-Korea1-UCS2", "90ms-RKSJ-H", "UniGB-UCS2-H"]) {
      const data = (await CMAPS[name]()).default;
      expect(data.byteLength, name).toBeGreaterThan(100);
    }
  });
});

(available ? describe : describe.skip)(available ? "CJK PDFs through the CMaps" : SKIP_MESSAGE, () => {
  it("extracts the Japanese poem of a CID font without ToUnicode (Adobe-Japan1-UCS2)", async () => {
    const t = squash(await text("pdf/pdfminer__jo.pdf"));
    for (const s of ["わたくしといふ現象は", "ひとつの青い照明です", "因果交流電燈の"]) expect(t).toContain(s);
  });

  it("still extracts the embedded-CMap and Chinese fixtures", async () => {
    expect(squash(await text("pdf/unstructured__embedded-cmap-cidfont.pdf"))).toContain(
      squash("This text uses an embedded CMap and should be extractable"),
    );
    expect(squash(await text("pdf/pdfminer__issue_566_test_2.pdf"))).toContain(squash("甲方：中国饮料有限公司（盖章）"));
  });
});
