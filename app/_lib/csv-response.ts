/** A CSV download from a tRPC query: the procedure holds the access rule; its errors become HTTP statuses. */
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";

export async function csvResponse(make: () => Promise<{ filename: string; csv: string }>): Promise<Response> {
  try {
    const { filename, csv } = await make();
    return new Response(csv, {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="${filename.replace(/"/g, "")}"`,
        "cache-control": "no-store",
      },
    });
  } catch (err) {
    if (err instanceof TRPCError) return new Response(err.message || err.code, { status: getHTTPStatusCodeFromError(err) });
    throw err;
  }
}
