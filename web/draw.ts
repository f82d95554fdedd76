/**
 * A draw-a-digit pad. The user draws with the mouse / pen / finger on a square canvas; `toMnist()`
 * turns the drawing into a 28×28 image the way MNIST digits were made: the ink's bounding box
 * scaled (keeping its aspect) into a 20×20 box, then placed so its centre of mass is at the
 * centre of the 28×28 field. Values in [0, 1], row-major (one row per R-MNIST step).
 */
export class DigitPad {
  private drawing = false;
  private last: { x: number; y: number } | null = null;
  private inked = false;
  onStroke: (() => void) | null = null;

  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly preview: HTMLCanvasElement | null,
  ) {
    const size = 280;
    canvas.width = size;
    canvas.height = size;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.drawing = true;
      this.last = this.pos(e);
      this.line(this.last, this.last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.drawing) return;
      const p = this.pos(e);
      this.line(this.last!, p);
      this.last = p;
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      this.last = null;
      this.updatePreview();
      this.onStroke?.();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  get isEmpty(): boolean {
    return !this.inked;
  }

  clear(): void {
    const g = this.canvas.getContext('2d', { willReadFrequently: true })!;
    g.fillStyle = '#000';
    g.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
    this.updatePreview();
  }

  /** Draw a stroke from a to b in canvas pixels (also used by tests). */
  line(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const g = this.canvas.getContext('2d', { willReadFrequently: true })!;
    g.strokeStyle = '#fff';
    g.lineCap = 'round';
    g.lineJoin = 'round';
    g.lineWidth = this.canvas.width / 12;
    g.beginPath();
    g.moveTo(a.x, a.y);
    g.lineTo(b.x, b.y);
    g.stroke();
    this.inked = true;
  }

  private pos(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * this.canvas.width, y: ((e.clientY - r.top) / r.height) * this.canvas.height };
  }

  /** The drawing as a centred 28×28 MNIST-style image, values in [0, 1]. */
  toMnist(): Float32Array {
    const src = this.canvas;
    const W = src.width;
    const ink = src.getContext('2d', { willReadFrequently: true })!.getImageData(0, 0, W, W).data;
    let x0 = W;
    let y0 = W;
    let x1 = -1;
    let y1 = -1;
    for (let y = 0; y < W; y++) {
      for (let x = 0; x < W; x++) {
        if (ink[(y * W + x) * 4]! > 20) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    const out = new Float32Array(28 * 28);
    if (x1 < 0) return out;
    // scale the bounding box into 20×20, keeping the aspect ratio
    const bw = x1 - x0 + 1;
    const bh = y1 - y0 + 1;
    const s = 20 / Math.max(bw, bh);
    const tw = Math.max(1, Math.round(bw * s));
    const th = Math.max(1, Math.round(bh * s));
    const tmp = document.createElement('canvas');
    tmp.width = tw;
    tmp.height = th;
    const tg = tmp.getContext('2d', { willReadFrequently: true })!;
    tg.imageSmoothingEnabled = true;
    tg.imageSmoothingQuality = 'high';
    tg.drawImage(src, x0, y0, bw, bh, 0, 0, tw, th);
    const small = tg.getImageData(0, 0, tw, th).data;
    // centre of mass → centre of the 28×28 field
    let m = 0;
    let cx = 0;
    let cy = 0;
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const v = small[(y * tw + x) * 4]! / 255;
        m += v;
        cx += v * x;
        cy += v * y;
      }
    }
    const ox = Math.round(14 - (m > 0 ? cx / m : tw / 2) - 0.5);
    const oy = Math.round(14 - (m > 0 ? cy / m : th / 2) - 0.5);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const X = x + ox;
        const Y = y + oy;
        if (X >= 0 && X < 28 && Y >= 0 && Y < 28) out[Y * 28 + X] = small[(y * tw + x) * 4]! / 255;
      }
    }
    return out;
  }

  updatePreview(): void {
    const p = this.preview;
    if (!p) return;
    p.width = 28;
    p.height = 28;
    const img = this.toMnist();
    const g = p.getContext('2d', { willReadFrequently: true })!;
    const data = g.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.round(img[i]! * 255);
      data.data[4 * i] = v;
      data.data[4 * i + 1] = v;
      data.data[4 * i + 2] = v;
      data.data[4 * i + 3] = 255;
    }
    g.putImageData(data, 0, 0);
  }
}
