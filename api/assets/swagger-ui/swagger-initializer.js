// The API reference: Swagger UI over this server's own OpenAPI document. A separate
// file rather than an inline script, so the page runs under `script-src 'self'`.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" sends what the page's Authorize dialog holds; nothing is stored.
    persistAuthorization: false,
  });
};
