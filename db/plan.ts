/**
 * The team's seven-week research plan, seeded once into `milestones` when the database is first migrated.
 * Each week's tasks and key questions follow the plan's research questions; the team edits status, owner,
 * due date and notes from the plan page afterwards, and a re-seed never overwrites them.
 */
import type { Database } from "./client";
import { milestones } from "./schema";

export interface PlannedWeek {
  week: number;
  title: string;
  tasks: string[];
  questions: string[];
}

export const researchPlan: readonly PlannedWeek[] = [
  {
    week: 1,
    title: "Data and DDPM basics",
    tasks: [
      "Load the crack datasets (folder layout, deterministic splits) and the synthetic generator",
      "Implement the forward process q(x_t | x_0) with the linear β schedule (T = 1000)",
      "Visualise the forward and reverse processes on normal and cracked images",
    ],
    questions: ["Does diffusion memorise pixels or learn structure?"],
  },
  {
    week: 2,
    title: "Teacher training and healing",
    tasks: [
      "Train the ε-prediction DDPM teacher on normal images only (L_simple)",
      "Heal test images from a start step t₀ and take |y − x̂₀| as the crack heatmap",
      "Compare against the plain autoencoder baseline",
    ],
    questions: ["Which t₀ heals cracks away while keeping normal texture?", "Does the teacher beat a plain autoencoder at localisation?"],
  },
  {
    week: 3,
    title: "Teacher targets and the single-step student",
    tasks: [
      "Generate soft heatmap targets from the teacher for the training images",
      "Train a single-step student: one forward pass image → heatmap and score",
      "Measure how much of the teacher's accuracy the student keeps",
    ],
    questions: ["Diffusion at training time only: how much accuracy is retained, how much faster is inference?"],
  },
  {
    week: 4,
    title: "DDPM vs DDIM across sampling steps",
    tasks: [
      "Heal with DDPM ancestral sampling and with DDIM (η = 0) at 1, 5, 10, 20, 50 steps",
      "Supervise students with each and compare under the same budget",
    ],
    questions: [
      "DDPM vs DDIM under the same supervision, across step counts: is stochasticity essential, or is iterative refinement the core?",
    ],
  },
  {
    week: 5,
    title: "Soft vs binary supervision; coarse-to-fine",
    tasks: [
      "Train students on soft heatmaps and on thresholded binary labels",
      "Train a coarse-to-fine student (low resolution, then residual refinement stages)",
    ],
    questions: ["Do soft heatmap targets beat binary labels for the student?", "Coarse-to-fine vs single-step students?"],
  },
  {
    week: 6,
    title: "Efficiency and failure cases",
    tasks: [
      "Measure ms/image, network calls per image and parameters for every method",
      "Collect failure cases: thin or faded cracks, stains, rust and water marks, domain shift",
    ],
    questions: [
      "Performance retention vs efficiency gain: where does each method sit?",
      "Which failure cases remain, and why?",
    ],
  },
  {
    week: 7,
    title: "Report",
    tasks: ["Freeze the final runs (several seeds, mean ± std)", "Write the report with its figures and tables", "Share the results with the supervisors"],
    questions: ["What do the results say about each of the plan's questions?"],
  },
];

const DAY_MS = 24 * 60 * 60 * 1000;

/** Inserts the weeks that are missing (due one per week from today); existing weeks are left as they are. */
export async function seedResearchPlan(db: Database, start: Date = new Date()): Promise<void> {
  const day0 = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  await db
    .insert(milestones)
    .values(researchPlan.map((w) => ({ ...w, dueDate: new Date(day0 + w.week * 7 * DAY_MS) })))
    .onConflictDoNothing({ target: milestones.week });
}
