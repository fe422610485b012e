/**
 * Rewrites a generated log file with some of its values changed, through the project's own Parquet
 * code (hyparquet to read, the generator's encoder or hyparquet-writer to write): a day with one
 * label class, a label of 2, a non-finite feature, or a column stored as another type.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import type { DayColumns } from '../../src/generator/day.ts';
import { encodeDayParquet, LOG_COLUMNS } from '../../src/generator/parquet.ts';

type Columns = { -readonly [K in keyof DayColumns]: DayColumns[K] };

/** Reads `file`, lets `edit` change its columns (typed arrays in place), writes it back. */
export async function editDay(file: string, edit: (c: Columns) => void): Promise<void> {
  const c = await readDay(file);
  edit(c);
  await writeFile(file, encodeDayParquet(c));
}

/** Rewrites `file` with `column` (a string column) stored as INT32 codes 0…49 instead of text. */
export async function storeColumnAsInt(file: string, column: 'country' | 'language'): Promise<void> {
  const c = await readDay(file);
  const codes = new Map<string, number>();
  const ints = Int32Array.from(c[column], (v) => {
    if (!codes.has(v)) codes.set(v, codes.size % 50);
    return codes.get(v)!;
  });
  const schema: SchemaElement[] = [{ name: 'root', num_children: LOG_COLUMNS.length }];
  for (const col of LOG_COLUMNS) {
    const repetition_type = col.nullable ? 'OPTIONAL' : 'REQUIRED';
    if (col.type === 'LIST<STRING>')
      schema.push(
        { name: col.name, repetition_type, converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      );
    else if (col.name === column) schema.push({ name: col.name, type: 'INT32', repetition_type });
    else if (col.type === 'STRING') schema.push({ name: col.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type });
    else schema.push({ name: col.name, type: col.type, repetition_type });
  }
  const columnData = LOG_COLUMNS.map((col) => ({ name: col.name, data: col.name === column ? ints : (c[col.name] as unknown[]) }));
  await writeFile(file, new Uint8Array(parquetWriteBuffer({ columnData, schema })));
}

async function readDay(file: string): Promise<Columns> {
  const bytes = await readFile(file);
  const rows = (await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })) as Record<
    string,
    unknown
  >[];
  const col = <T>(name: string) => rows.map((r) => r[name] as T);
  return {
    impression_id: col('impression_id'),
    user_id: col('user_id'),
    country: col('country'),
    language: col('language'),
    device_class: col('device_class'),
    age_bucket: col('age_bucket'),
    installed_apps: col('installed_apps'),
    user_sessions_per_week: col('user_sessions_per_week'),
    user_days_since_signup: Int32Array.from(col<number>('user_days_since_signup')),
    app_id: col('app_id'),
    app_category: col('app_category'),
    app_price: Float64Array.from(col<number>('app_price')),
    app_rating: col('app_rating'),
    app_downloads: Float64Array.from(col<number>('app_downloads')),
    position: Int32Array.from(col<number>('position')),
    hour_of_day: Int32Array.from(col<number>('hour_of_day')),
    installed: Int32Array.from(col<number>('installed')),
  };
}
