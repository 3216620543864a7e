// Filter forms: query parameters read leniently through zod (a page shows with a bad filter dropped,
// the API still refuses it) and the labelled inputs every filter bar uses.
import { z } from "zod";

/** An optional, bounded text parameter; anything else reads as not given. */
export const optionalText = z.string().trim().min(1).max(256).optional().catch(undefined);

export function filtersOf<S extends z.ZodRawShape>(shape: S, query: Record<string, string>) {
  return z.object(shape).parse(query);
}

export function TextField(props: { label: string; name: string; value?: string | undefined; list?: string }) {
  return (
    <label>
      {props.label}
      <input type="search" name={props.name} value={props.value ?? ""} list={props.list} autocomplete="off" />
    </label>
  );
}

export function SelectField(props: {
  label: string;
  name: string;
  value?: string | undefined;
  options: readonly string[];
  any?: string;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">{props.any ?? "any"}</option>
        {props.options.map((o) => (
          <option value={o} selected={o === props.value}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}
