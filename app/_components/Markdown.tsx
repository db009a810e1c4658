import { markdownToHtml } from "@/server/markdown";

/** Notes and dashboard text. The renderer escapes every character it is given, so its HTML is safe to insert. */
export function Markdown({ text, className }: { text: string; className?: string }) {
  return <div className={`markdown${className ? ` ${className}` : ""}`} dangerouslySetInnerHTML={{ __html: markdownToHtml(text) }} />;
}
