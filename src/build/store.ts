/**
 * Where a run keeps the images its build steps make until a push step sends them: one OCI image
 * layout directory per reference under the run's temp dir (one per reference, so parallel builds
 * never write the same index.json). Names without a registry belong to the run's registry, as
 * acb prefixes them.
 */
import { join } from 'node:path';
import { OciLayoutSource } from '../client/oci-layout.js';
import { formatReference, parseReference } from '../oci/reference.js';

export interface StoredImage {
  reference: string;
  digest: string;
  platform: string;
  /** The step that built it. */
  step: string;
}

export const STORE_TAG = 'image';

export class ImageStore {
  private readonly images = new Map<string, StoredImage>();

  constructor(
    readonly dir: string,
    readonly registry: string,
  ) {}

  /** The canonical form of a reference, with the run's registry when it names none. */
  canonical(text: string): string {
    return formatReference(parseReference(text, { defaultRegistry: this.registry }));
  }

  /** The layout directory (and tag in it) that holds `reference`. */
  layout(reference: string): { dir: string; tag: string } {
    return { dir: join(this.dir, encodeURIComponent(this.canonical(reference))), tag: STORE_TAG };
  }

  record(image: StoredImage): void {
    this.images.set(this.canonical(image.reference), { ...image, reference: this.canonical(image.reference) });
  }

  get(reference: string): StoredImage | undefined {
    return this.images.get(this.canonical(reference));
  }

  list(): StoredImage[] {
    return [...this.images.values()];
  }

  source(reference: string): OciLayoutSource {
    const { dir, tag } = this.layout(reference);
    return new OciLayoutSource(dir, tag);
  }
}
