#!/usr/bin/env node
// Emits kernel.wasm: the int8 dot-product scan used by the local vector index.
// No wasm toolchain is available here, so the binary is written byte by byte from the small
// assembler below. Run `node src/retrieval/local/kernel/gen.mjs` after editing; the output is
// committed because workerd may only load precompiled modules (no runtime compilation from bytes).
//
// Exported:
//   memory                              the index's memory: query, block output, then the matrix
//   scan(q, m, out, n, stride)          out[r] = sum_i q[i] * m[r*stride + i]   for r in [0, n)
//       q:   i16[stride]  the query, quantised to 16 bits
//       m:   i8[n*stride] rows quantised to 8 bits, stride a multiple of 16 (zero padded)
//       out: i32[n]
// Rows are processed four at a time so each query load feeds four dot products; the int8 rows
// are widened on load (v128.load8x8_s) and multiplied with i32x4.dot_i16x8_s.

import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const uleb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n) => {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];
const str = (s) => vec([...Buffer.from(s, "utf8")]);

const I32 = 0x7f;
const V128 = 0x7b;
const VOID = 0x40;

// Instructions.
const get = (i) => [0x20, ...uleb(i)];
const set = (i) => [0x21, ...uleb(i)];
const tee = (i) => [0x22, ...uleb(i)];
const i32c = (n) => [0x41, ...sleb(n)];
const add = [0x6a];
const shl = [0x74];
const gtU = [0x4b];
const ltU = [0x49];
const geU = [0x4f];
const block = [0x02, VOID];
const loop = [0x03, VOID];
const end = [0x0b];
const br = (d) => [0x0c, ...uleb(d)];
const brIf = (d) => [0x0d, ...uleb(d)];
const i32Store = (offset) => [0x36, 2, ...uleb(offset)];
const simd = (op, ...imm) => [0xfd, ...uleb(op), ...imm];
const v128Load = (offset, align = 4) => simd(0x00, align, ...uleb(offset));
const load8x8s = (offset) => simd(0x01, 3, ...uleb(offset));
const i32x4Splat = simd(0x11);
const extractLane = (lane) => simd(0x1b, lane);
const i32x4Add = simd(0xae);
const dot = simd(0xba);

// Locals: params 0..4, then i32 locals, then v128 locals.
const [Q, M, OUT, N, STRIDE] = [0, 1, 2, 3, 4];
const [R, QP, QEND, X0, X1, X2, X3, OP] = [5, 6, 7, 8, 9, 10, 11, 12];
const [A0, A1, A2, A3, QA, QB] = [13, 14, 15, 16, 17, 18];
const ROWS = [X0, X1, X2, X3];
const ACCS = [A0, A1, A2, A3];

const zero = (acc) => [...i32c(0), ...i32x4Splat, ...set(acc)];
const hsum = (acc) => [
  ...get(acc),
  ...extractLane(0),
  ...get(acc),
  ...extractLane(1),
  ...add,
  ...get(acc),
  ...extractLane(2),
  ...add,
  ...get(acc),
  ...extractLane(3),
  ...add,
];
// acc += dot(row[0..8], qa) + dot(row[8..16], qb)
const accumulate = (row, acc) => [
  ...get(acc),
  ...get(row),
  ...load8x8s(0),
  ...get(QA),
  ...dot,
  ...i32x4Add,
  ...get(row),
  ...load8x8s(8),
  ...get(QB),
  ...dot,
  ...i32x4Add,
  ...set(acc),
];
const bump = (local, by) => [...get(local), ...by, ...add, ...set(local)];

// Rows r..r+k-1 (k = 4 or 1) starting at X0; X0 must point at row r on entry.
function rowGroup(k) {
  const rows = ROWS.slice(0, k);
  const accs = ACCS.slice(0, k);
  const out = [];
  for (let j = 1; j < k; j++) out.push(...get(rows[j - 1]), ...get(STRIDE), ...add, ...set(rows[j]));
  for (const a of accs) out.push(...zero(a));
  out.push(...get(Q), ...set(QP));
  out.push(
    ...loop,
    ...get(QP),
    ...v128Load(0),
    ...set(QA),
    ...get(QP),
    ...v128Load(16),
    ...set(QB),
    ...rows.flatMap((row, j) => accumulate(row, accs[j])),
    ...rows.flatMap((row) => bump(row, i32c(16))),
    ...get(QP),
    ...i32c(32),
    ...add,
    ...tee(QP),
    ...get(QEND),
    ...ltU,
    ...brIf(0),
    ...end,
  );
  // out[r + j] = hsum(acc_j); OP points at out[r].
  for (const [j, a] of accs.entries()) out.push(...get(OP), ...hsum(a), ...i32Store(4 * j));
  out.push(...bump(OP, i32c(4 * k)), ...bump(R, i32c(k)));
  // X0 now points at the end of the last row of the group, i.e. the next row.
  if (k > 1) out.push(...get(rows[k - 1]), ...set(X0));
  return out;
}

const body = [
  ...get(Q),
  ...get(STRIDE),
  ...i32c(1),
  ...shl,
  ...add,
  ...set(QEND),
  ...get(M),
  ...set(X0),
  ...get(OUT),
  ...set(OP),
  ...i32c(0),
  ...set(R),
  // Groups of four rows while r + 4 <= n.
  ...block,
  ...loop,
  ...get(R),
  ...i32c(4),
  ...add,
  ...get(N),
  ...gtU,
  ...brIf(1),
  ...rowGroup(4),
  ...br(0),
  ...end,
  ...end,
  // Remaining rows one at a time.
  ...block,
  ...loop,
  ...get(R),
  ...get(N),
  ...geU,
  ...brIf(1),
  ...rowGroup(1),
  ...br(0),
  ...end,
  ...end,
  ...end,
];

const locals = vec([
  [...uleb(8), I32],
  [...uleb(6), V128],
]);
const func = [...locals, ...body];

const bytes = [
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  // type 0: (i32 i32 i32 i32 i32) -> ()
  ...section(1, vec([[0x60, ...vec([I32, I32, I32, I32, I32]), ...vec([])]])),
  // function 0 has type 0
  ...section(3, vec([uleb(0)])),
  // memory 0: min 1 page, no maximum (grown by the host)
  ...section(5, vec([[0x00, ...uleb(1)]])),
  // exports
  ...section(
    7,
    vec([
      [...str("memory"), 0x02, ...uleb(0)],
      [...str("scan"), 0x00, ...uleb(0)],
    ]),
  ),
  // code
  ...section(10, vec([[...uleb(func.length), ...func]])),
];

const wasm = Uint8Array.from(bytes);
if (!WebAssembly.validate(wasm)) throw new Error("generated kernel does not validate");
const outPath = join(dirname(fileURLToPath(import.meta.url)), "kernel.wasm");
writeFileSync(outPath, wasm);
console.log(`wrote ${outPath} (${wasm.length} bytes)`);
