// HTTP as the tests and benchmarks speak it to a service on a real socket: one request, its
// status, headers and parsed body.
export interface ApiResponse {
  status: number;
  headers: Headers;
  // JSON bodies of the API are free-form here; tests assert on their fields.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface JobJson {
  job_id: string;
  instance_id: string;
  status: number;
  state: string;
  error_code: string;
  error_msg: string;
  execute_msg: string;
  exit_code: number | null;
  output_bytes: number;
  output_truncated: boolean;
  started_at: string | null;
  finished_at: string | null;
}

export async function request(
  url: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<ApiResponse> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (SSE, empty): keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

