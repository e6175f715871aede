/**
 * The admin API as the browser scenarios use it to seed and check data: plain fetch with the
 * admin's JWT, so what a scenario asserts about the UI is not also done through the UI.
 */

/**
 * @param {object} options
 * @param {string} options.baseUrl    the running Strapi
 * @param {string} options.adminToken the admin JWT
 * @param {number} options.timeoutMs  how long one call may take
 */
function createAdminApi({ baseUrl, adminToken, timeoutMs }) {
  /** One admin API call: its status and parsed body, whatever the status. */
  async function call(method, path, body) {
    const response = await fetch(`${baseUrl}/multi-smtp${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { status: response.status, ok: response.ok, text, body: text ? JSON.parse(text) : null };
  }

  /** One admin API call that must succeed; the body of the answer, or an error naming the call. */
  async function api(method, path, body) {
    const answer = await call(method, path, body);
    if (!answer.ok) throw new Error(`${method} ${path}: HTTP ${answer.status} ${answer.text}`);
    return answer.body;
  }

  return { call, api };
}

module.exports = { createAdminApi };
